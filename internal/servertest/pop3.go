package servertest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// A POP3Message is one message of a maildrop as a POP3 server serves it.
type POP3Message struct {
	Num  int
	Size int    // octets, from LIST
	UIDL string // from UIDL; "" when the server has no UIDL
	Body []byte // RETR, dot-stuffing removed, line ends as sent (CRLF)
}

// POP3Timeout bounds a whole POP3Fetch session.
const POP3Timeout = 60 * time.Second

// POP3Fetch logs in to the POP3 server at addr with USER/PASS and returns
// every message of the maildrop (STAT, LIST, UIDL when the server has it,
// RETR), then QUITs without deleting anything.
func POP3Fetch(addr, user, password string) ([]POP3Message, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(POP3Timeout))
	p := &pop3Conn{r: bufio.NewReader(conn), w: conn}
	if _, err := p.status(""); err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if _, err := p.status("USER " + user); err != nil {
		return nil, err
	}
	if _, err := p.status("PASS " + password); err != nil {
		return nil, fmt.Errorf("PASS for %s: %w", user, err)
	}
	msgs, err := p.list()
	if err != nil {
		return nil, err
	}
	if err := p.uidl(msgs); err != nil {
		return nil, err
	}
	for i := range msgs {
		if _, err := p.status("RETR " + strconv.Itoa(msgs[i].Num)); err != nil {
			return nil, err
		}
		if msgs[i].Body, err = p.multiline(); err != nil {
			return nil, fmt.Errorf("RETR %d: %w", msgs[i].Num, err)
		}
	}
	_, err = p.status("QUIT")
	return msgs, err
}

type pop3Conn struct {
	r *bufio.Reader
	w net.Conn
}

// status sends cmd (none when empty) and reads a +OK line.
func (p *pop3Conn) status(cmd string) (string, error) {
	if cmd != "" {
		if _, err := fmt.Fprintf(p.w, "%s\r\n", cmd); err != nil {
			return "", err
		}
	}
	line, err := p.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "+OK") {
		verb, _, _ := strings.Cut(cmd, " ") // never echo a password
		return line, fmt.Errorf("%s: %q", verb, line)
	}
	return line, nil
}

// multiline reads a dot-terminated answer and removes the dot-stuffing.
func (p *pop3Conn) multiline() ([]byte, error) {
	var b bytes.Buffer
	for {
		line, err := p.r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		if string(line) == ".\r\n" {
			return b.Bytes(), nil
		}
		if line[0] == '.' {
			line = line[1:]
		}
		b.Write(line)
	}
}

func (p *pop3Conn) list() ([]POP3Message, error) {
	if _, err := p.status("LIST"); err != nil {
		return nil, err
	}
	data, err := p.multiline()
	if err != nil {
		return nil, err
	}
	var msgs []POP3Message
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\r\n") {
		if line == "" {
			continue
		}
		var m POP3Message
		if _, err := fmt.Sscanf(line, "%d %d", &m.Num, &m.Size); err != nil {
			return nil, fmt.Errorf("LIST line %q: %w", line, err)
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// uidl fills in the UIDLs; a server that answers -ERR has none.
func (p *pop3Conn) uidl(msgs []POP3Message) error {
	if _, err := p.status("UIDL"); err != nil {
		return nil
	}
	data, err := p.multiline()
	if err != nil {
		return err
	}
	byNum := map[int]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\r\n") {
		num, uidl, ok := strings.Cut(line, " ")
		if n, err := strconv.Atoi(num); ok && err == nil {
			byNum[n] = uidl
		}
	}
	for i := range msgs {
		msgs[i].UIDL = byNum[msgs[i].Num]
	}
	return nil
}
