// Command mailferry moves e-mail from POP3 servers and local archives into
// IMAP folders, exactly once, resumably and fast.
//
// Commands: migrate (the job a config file describes), check (log in to
// every server and show the folder plan), verify (compare the sources
// with the target), demo (a complete migration between embedded
// servers), version. Exit codes: 0 done, 1 some
// messages failed, 2 usage or config error, 3 cannot connect, authenticate
// or verify TLS, or the target is over quota, 4 the state file is locked
// by another run, 130 interrupted.
package main
