package nstest

import (
	"bytes"
	"net"
	"os"
	"strings"
	"sync"
)

// maxSyslog bounds the syslog lines kept in memory (the oldest go first).
const maxSyslog = 2000

// syslogSink receives the datagrams that the namespace's processes send to
// /dev/log (glibc's syslog(3)) and keeps them as lines, without the <PRI>.
type syslogSink struct {
	conn  *net.UnixConn
	done  chan struct{}
	mu    sync.Mutex
	lines []string
	total int // lines received, including those dropped
}

// listenSyslog binds a datagram socket at path that any user may write to
// (the servers drop root before they log).
func listenSyslog(path string) (*syslogSink, error) {
	_ = os.Remove(path)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o666); err != nil {
		conn.Close()
		return nil, err
	}
	s := &syslogSink{conn: conn, done: make(chan struct{})}
	go s.read()
	return s, nil
}

func (s *syslogSink) read() {
	defer close(s.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			return
		}
		s.add(buf[:n])
	}
}

func (s *syslogSink) add(msg []byte) {
	if len(msg) > 0 && msg[0] == '<' {
		if i := bytes.IndexByte(msg, '>'); i > 0 && i < 5 {
			msg = msg[i+1:]
		}
	}
	line := strings.TrimRight(string(msg), "\x00\r\n")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, line)
	s.total++
	if len(s.lines) > maxSyslog {
		s.lines = append(s.lines[:0], s.lines[len(s.lines)-maxSyslog:]...)
	}
}

// text returns every line kept, oldest first.
func (s *syslogSink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// count returns how many lines were received so far; since returns the
// lines after the first n of them that are still kept.
func (s *syslogSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

func (s *syslogSink) since(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	skip := max(0, n-(s.total-len(s.lines)))
	if skip >= len(s.lines) {
		return ""
	}
	return strings.Join(s.lines[skip:], "\n")
}

func (s *syslogSink) close() {
	s.conn.Close()
	<-s.done
}
