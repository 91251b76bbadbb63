// Package pop3test runs a POP3 server in process, over 127.0.0.1, for
// tests and demos, like net/http/httptest: maildrops held in memory,
// CAPA, UIDL, PIPELINING, STLS or implicit TLS, SASL PLAIN and USER/PASS,
// one lock per maildrop, and hooks to add latency and inject faults.
//
// Messages are stored and sent byte for byte (dot-stuffed on the wire),
// so a client can be checked for exact bytes. SampleMessages gives
// realistic mail, with the cases that trip migrations.
package pop3test
