package bench

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// A Proxy forwards TCP connections from a loopback port to Upstream,
// delaying each direction by Delay and counting occurrences of Match in
// the client-to-server stream.
//
// The delay is a latency, not a rate limit: a reader timestamps each chunk
// as it arrives and queues it, and a writer sends each chunk when its time
// plus Delay has come. Chunks keep their order and the link keeps its
// throughput, as a long fat pipe does; a Delay of 10 ms each way makes a
// 20 ms round trip.
type Proxy struct {
	Upstream string
	Delay    time.Duration
	// Match, when not empty, is counted in what clients send (e.g.
	// "RETR "); Matches returns the count.
	Match []byte

	ln      net.Listener
	matches atomic.Int64
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool
}

// queueChunks bounds the chunks in flight per direction: 4,096 reads of up
// to 32 KiB, far above a loopback link's bandwidth-delay product at 10 ms.
const (
	queueChunks = 4096
	chunkSize   = 32 << 10
)

// Start listens on 127.0.0.1 and serves until Close.
func (p *Proxy) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p.ln, p.conns = ln, map[net.Conn]struct{}{}
	p.wg.Go(p.serve)
	return nil
}

// Addr is the proxy's "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Matches returns how many times Match was seen so far.
func (p *Proxy) Matches() int64 { return p.matches.Load() }

// Close stops listening, closes every connection and waits for the
// goroutines.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.handle(client) })
	}
}

// track registers c for Close; it reports false when the proxy is closed.
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		if p.closed {
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
	}
	return !p.closed
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

func (p *Proxy) handle(client net.Conn) {
	server, err := net.Dial("tcp", p.Upstream)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, server) {
		return
	}
	defer p.untrack(client, server)
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(server, client, p.Match) })
	wg.Go(func() { p.pipe(client, server, nil) })
	wg.Wait()
}

// A chunk is one read, stamped with its arrival; eof marks the end.
type chunk struct {
	data []byte
	at   time.Time
	eof  bool
}

// pipe copies src to dst with the delay. When src ends, dst's write side
// is closed once the delay has passed; when either fails, both close.
func (p *Proxy) pipe(dst, src net.Conn, match []byte) {
	q := make(chan chunk, queueChunks)
	go func() {
		defer close(q)
		buf := make([]byte, chunkSize)
		var carry []byte // tail of the previous chunk, for matches across reads
		for {
			n, err := src.Read(buf)
			if n > 0 {
				data := bytes.Clone(buf[:n])
				if len(match) > 0 {
					carry = p.count(carry, data, match)
				}
				q <- chunk{data: data, at: time.Now()}
			}
			if err != nil {
				q <- chunk{at: time.Now(), eof: true}
				return
			}
		}
	}()
	failed := false
	for c := range q {
		if failed {
			continue // drain, so the reader never blocks
		}
		if d := time.Until(c.at.Add(p.Delay)); d > 0 {
			time.Sleep(d)
		}
		if c.eof {
			closeWrite(dst)
			continue
		}
		if _, err := dst.Write(c.data); err != nil {
			failed = true
			src.Close()
			dst.Close()
		}
	}
}

// count adds the matches in carry+data that end inside data and returns
// the new carry.
func (p *Proxy) count(carry, data, match []byte) []byte {
	// carry is shorter than match, so every match counted here is new.
	joined := append(carry, data...)
	p.matches.Add(int64(bytes.Count(joined, match)))
	keep := min(len(match)-1, len(joined))
	return bytes.Clone(joined[len(joined)-keep:])
}

// closeWrite half-closes c: the peer reads EOF and may still answer.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	c.Close()
}
