package bench

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"mime/quotedprintable"
	"slices"
	"strings"
	"time"
)

// Mailbox shape: sizes are log-normal around a median of MedianSize, with
// a tail up to MaxSize; every TailEvery-th message is drawn from the tail
// (an attachment between 256 KiB and MaxSize), so that the largest
// messages exist whatever the seed.
const (
	MedianSize  = 9000
	MaxSize     = 2 << 20
	minSize     = 700
	sizeSigma   = 1.1
	TailEvery   = 250 // 8 tail messages in 2,000
	NoIDEvery   = 400 // messages without a Message-ID: 5 in 2,000
	attachAbove = 24 << 10
)

// A Corpus is a generated mailbox: messages in CRLF, in delivery order.
type Corpus struct {
	Msgs  [][]byte
	Bytes int64 // sum of len(Msgs[i])
}

// Subset returns the first n messages.
func (c *Corpus) Subset(n int) *Corpus {
	n = min(n, len(c.Msgs))
	s := &Corpus{Msgs: c.Msgs[:n]}
	for _, m := range s.Msgs {
		s.Bytes += int64(len(m))
	}
	return s
}

// Median returns the median message size.
func (c *Corpus) Median() int {
	sizes := make([]int, len(c.Msgs))
	for i, m := range c.Msgs {
		sizes[i] = len(m)
	}
	if len(sizes) == 0 {
		return 0
	}
	slices.Sort(sizes)
	return sizes[len(sizes)/2]
}

// Max returns the largest message size.
func (c *Corpus) Max() int {
	m := 0
	for _, msg := range c.Msgs {
		m = max(m, len(msg))
	}
	return m
}

// Generate makes n distinct messages from seed; the same seed gives the
// same bytes. Every message has a Message-ID except every NoIDEvery-th;
// all differ in body, so none is a duplicate of another.
func Generate(n int, seed uint64) *Corpus {
	r := rand.New(rand.NewPCG(seed, seed^0x6d61696c66657272))
	c := &Corpus{Msgs: make([][]byte, 0, n)}
	start := time.Date(2014, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		g := gen{r: r, i: i, date: start.Add(time.Duration(i) * 97 * time.Minute)}
		msg := g.message(g.size())
		c.Msgs = append(c.Msgs, msg)
		c.Bytes += int64(len(msg))
	}
	return c
}

// gen builds one message.
type gen struct {
	r    *rand.Rand
	i    int
	date time.Time
	b    bytes.Buffer
}

func (g *gen) size() int {
	if g.i%TailEvery == TailEvery-1 {
		lo, hi := math.Log(256<<10), math.Log(MaxSize)
		return int(math.Exp(lo + g.r.Float64()*(hi-lo)))
	}
	s := MedianSize * math.Exp(sizeSigma*g.r.NormFloat64())
	return int(min(max(s, minSize), MaxSize))
}

// message returns a message of about size octets (never above MaxSize).
func (g *gen) message(size int) []byte {
	g.headers()
	room := size - g.b.Len()
	switch {
	case room > attachAbove || (room > 4000 && g.r.IntN(10) == 0):
		g.multipartMixed(size)
	case room > 3000 && g.r.IntN(4) == 0:
		g.alternative(room)
	default:
		g.plainHeaders()
		g.text(max(room, 80))
	}
	out := bytes.Clone(g.b.Bytes())
	if len(out) > MaxSize {
		out = out[:MaxSize-2]
		out = append(out, "\r\n"...)
	}
	return out
}

var (
	hosts   = []string{"example.org", "mail.example.net", "lists.example.com", "shop.example", "univ.example.edu", "bank.example.co.uk"}
	names   = []string{"Alice Martin", "Bob Stone", "Chloé Dubois", "David Ng", "Eva Müller", "Farid Haddad", "Grace Lee", "Hugo Silva"}
	words   = strings.Fields("the of and to in is for on that with as this are be at by from your have or not we will can an our more about new all has was you it if please order account meeting report update invoice project team week next attached thanks regards see below monday friday delivery price")
	zones   = []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -5*3600), time.FixedZone("", 5*3600+1800), time.FixedZone("", -8*3600)}
	mailers = []string{"Mozilla Thunderbird 115.3", "Microsoft Outlook 16.0", "Apple Mail (2.3731)", "Roundcube Webmail/1.6.2"}
)

func (g *gen) hf(format string, args ...any) {
	fmt.Fprintf(&g.b, format, args...)
	g.b.WriteString("\r\n")
}

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *gen) addr() string {
	n := g.pick(names)
	local := strings.ToLower(strings.Fields(n)[0])
	return fmt.Sprintf("%s <%s.%d@%s>", n, local, g.r.IntN(90), g.pick(hosts))
}

func (g *gen) headers() {
	host := g.pick(hosts)
	g.hf("Return-Path: <bounce-%d@%s>", g.r.IntN(1e6), host)
	for h := range 1 + g.r.IntN(4) {
		g.hf("Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\r\n\tby pop.example.net (Postfix) with ESMTPS id %X\r\n\tfor <alice@example.net>; %s",
			h, host, h, host, 1+g.r.IntN(250), g.r.Uint64()&0xffffffffff, g.date.Add(-time.Duration(h)*time.Second).Format(time.RFC1123Z))
	}
	if g.r.IntN(3) == 0 {
		g.dkim(host)
	}
	g.hf("From: %s", g.addr())
	g.hf("To: Alice Example <alice@example.net>")
	if g.r.IntN(4) == 0 {
		g.hf("Cc: %s, %s", g.addr(), g.addr())
	}
	g.subject()
	g.hf("Date: %s", g.date.In(zones[g.r.IntN(len(zones))]).Format(time.RFC1123Z))
	if g.i%NoIDEvery != NoIDEvery-1 {
		g.hf("Message-ID: <%d.%016x@%s>", g.date.Unix(), g.r.Uint64(), host)
	}
	if g.r.IntN(3) == 0 {
		g.hf("In-Reply-To: <%x@%s>", g.r.Uint64(), g.pick(hosts))
	}
	if g.r.IntN(5) == 0 {
		g.hf("List-Id: Project news <news.%s>", host)
		g.hf("List-Unsubscribe: <mailto:leave-%d@%s>", g.r.IntN(1e6), host)
	}
	if g.r.IntN(2) == 0 {
		g.hf("X-Mailer: %s", g.pick(mailers))
	}
	g.hf("MIME-Version: 1.0")
}

func (g *gen) dkim(host string) {
	sig := make([]byte, 256)
	for i := range sig {
		sig[i] = byte(g.r.UintN(256))
	}
	b64 := base64.StdEncoding.EncodeToString(sig)
	g.hf("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=s1;\r\n\th=from:to:subject:date:message-id; bh=%s;\r\n\tb=%s\r\n\t %s",
		host, b64[:44], b64[:170], b64[170:])
}

func (g *gen) subject() {
	var words []string
	for range 2 + g.r.IntN(7) {
		words = append(words, g.word())
	}
	s := strings.Join(words, " ")
	switch g.r.IntN(6) {
	case 0:
		g.hf("Subject: =?UTF-8?Q?R=C3=A9union_%s?=", strings.ReplaceAll(s, " ", "_"))
	case 1:
		g.hf("Subject: Re: %s", s)
	default:
		g.hf("Subject: %s", s)
	}
}

func (g *gen) word() string { return words[g.r.IntN(len(words))] }

func (g *gen) plainHeaders() {
	g.hf("Content-Type: text/plain; charset=utf-8; format=flowed")
	g.hf("Content-Transfer-Encoding: 8bit")
	g.b.WriteString("\r\n")
}

// text writes about n octets of text lines; some start with "." (POP3
// stuffs them) and some hold 8-bit UTF-8.
func (g *gen) text(n int) {
	end := g.b.Len() + n
	for g.b.Len() < end {
		line := g.r.IntN(20)
		switch {
		case line == 0:
			g.b.WriteString("\r\n")
			continue
		case line == 1:
			g.b.WriteString(".")
		case line == 2:
			g.b.WriteString("Très bien, à bientôt — ")
		case line == 3:
			g.b.WriteString("> ")
		}
		for w := 0; w < 12; w++ {
			g.b.WriteString(g.word())
			g.b.WriteByte(' ')
		}
		g.b.WriteString(g.word())
		g.b.WriteString("\r\n")
	}
}

func (g *gen) boundary() string { return fmt.Sprintf("=_b%016x", g.r.Uint64()) }

func (g *gen) alternative(room int) {
	bd := g.boundary()
	g.hf("Content-Type: multipart/alternative; boundary=%q", bd)
	g.b.WriteString("\r\n")
	g.hf("--%s", bd)
	g.hf("Content-Type: text/plain; charset=utf-8")
	g.b.WriteString("\r\n")
	g.text(room / 3)
	g.hf("--%s", bd)
	g.hf("Content-Type: text/html; charset=utf-8")
	g.hf("Content-Transfer-Encoding: quoted-printable")
	g.b.WriteString("\r\n")
	var html bytes.Buffer
	html.WriteString("<html><body style=\"font-family: Arial, sans-serif; font-size: 14px;\">")
	for html.Len() < room/2 {
		fmt.Fprintf(&html, "<p>%s %s %s <b>%s</b> %s %s</p>", g.word(), g.word(), g.word(), g.word(), g.word(), g.word())
	}
	html.WriteString("</body></html>")
	qp := quotedprintable.NewWriter(&g.b)
	qp.Write(html.Bytes())
	qp.Close()
	g.b.WriteString("\r\n")
	g.hf("--%s--", bd)
}

func (g *gen) multipartMixed(size int) {
	bd := g.boundary()
	g.hf("Content-Type: multipart/mixed; boundary=%q", bd)
	g.b.WriteString("\r\n")
	g.hf("This is a multi-part message in MIME format.")
	g.hf("--%s", bd)
	g.hf("Content-Type: text/plain; charset=utf-8")
	g.b.WriteString("\r\n")
	g.text(min((size-g.b.Len())/8, 3000) + 200)
	g.hf("--%s", bd)
	att := attachments[g.r.IntN(len(attachments))]
	g.hf("Content-Type: %s; name=\"%s\"", att[0], fmt.Sprintf(att[1], g.r.IntN(1e4)))
	g.hf("Content-Transfer-Encoding: base64")
	g.hf("Content-Disposition: attachment")
	g.b.WriteString("\r\n")
	// Base64 in lines of 76 characters: 78 octets for 57 raw ones.
	left := size - g.b.Len() - len(bd) - 8
	raw := make([]byte, max(left*57/78, 57))
	for i := 0; i+8 <= len(raw); i += 8 {
		v := g.r.Uint64()
		for k := range 8 {
			raw[i+k] = byte(v >> (8 * k))
		}
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		g.b.WriteString(enc[:76])
		g.b.WriteString("\r\n")
		enc = enc[76:]
	}
	g.b.WriteString(enc)
	g.b.WriteString("\r\n")
	g.hf("--%s--", bd)
}

var attachments = [][2]string{
	{"application/pdf", "report-%d.pdf"},
	{"image/jpeg", "IMG_%d.jpg"},
	{"application/zip", "files-%d.zip"},
}
