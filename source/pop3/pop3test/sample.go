package pop3test

import (
	"fmt"
	"strings"
	"time"
)

// SampleMessages returns n realistic messages, CRLF line endings, the
// same on every call. The first seven are the cases that trip
// migrations, in this order (when n is smaller, the first n of them):
//
//	0 a plain text message
//	1 lines that start with "." (".", "..", ".signature"), dot-stuffed on the wire
//	2 a 12,000-character line
//	3 raw UTF-8 (8-bit) in the Subject and From headers and the body
//	4 no Message-ID
//	5 a message, and
//	6 the same Message-ID and body with a Received: header added (a re-delivery)
//
// The others vary in sender, subject, date, size and structure
// (multipart/alternative, base64 attachments).
func SampleMessages(n int) [][]byte {
	special := []func() []byte{plainMsg, dotMsg, longLineMsg, eightBitMsg, noIDMsg, redeliveredMsg(false), redeliveredMsg(true)}
	msgs := make([][]byte, 0, n)
	for i := range n {
		if i < len(special) {
			msgs = append(msgs, special[i]())
			continue
		}
		msgs = append(msgs, variedMsg(i))
	}
	return msgs
}

var sampleBase = time.Date(2024, 3, 4, 9, 15, 0, 0, time.FixedZone("CET", 3600))

// crlf joins lines with CRLF and ends with CRLF.
func crlf(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

func header(from, to, subject string, i int, msgID bool) []string {
	h := []string{
		"Return-Path: <" + addrOf(from) + ">",
		"From: " + from,
		"To: " + to,
		"Subject: " + subject,
		"Date: " + sampleBase.Add(time.Duration(i)*97*time.Minute).Format(time.RFC1123Z),
	}
	if msgID {
		h = append(h, fmt.Sprintf("Message-ID: <%d.%08x@sample.example.org>", i, uint32(i)*2654435761))
	}
	return append(h, "MIME-Version: 1.0")
}

func addrOf(from string) string {
	if i := strings.IndexByte(from, '<'); i >= 0 {
		return strings.TrimSuffix(from[i+1:], ">")
	}
	return from
}

func plainMsg() []byte {
	h := header("Alice Martin <alice@example.org>", "bob@example.net", "Lunch on Thursday?", 0, true)
	return crlf(append(h,
		"Content-Type: text/plain; charset=us-ascii",
		"",
		"Hi Bob,",
		"",
		"Are you free for lunch on Thursday? The new place on Rue Cler.",
		"",
		"Alice")...)
}

func dotMsg() []byte {
	h := header("Carol <carol@example.com>", "bob@example.net", "Dots at the start of lines", 1, true)
	return crlf(append(h,
		"Content-Type: text/plain; charset=us-ascii",
		"",
		"The next line is a single dot:",
		".",
		"and this one two dots:",
		"..",
		".signature files start with a dot",
		"...and so does an ellipsis",
		"-- ",
		".")...)
}

func longLineMsg() []byte {
	h := header("Newsletter <news@shop.example>", "bob@example.net", "Spring sale", 2, true)
	var b strings.Builder
	b.WriteString("<html><body>")
	for i := 0; b.Len() < 12000; i++ {
		fmt.Fprintf(&b, "<td class=\"p%d\">Item %d &mdash; %d,99&nbsp;EUR</td>", i%7, i, 10+i%90)
	}
	b.WriteString("</body></html>")
	return crlf(append(h,
		"Content-Type: text/html; charset=utf-8",
		"",
		b.String())...)
}

func eightBitMsg() []byte {
	h := header("Jürgen Müller <juergen@example.de>", "bob@example.net", "Grüße aus Köln – Straße gesperrt", 3, true)
	return crlf(append(h,
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: 8bit",
		"",
		"Hallo Bob,",
		"",
		"die Straße vor dem Büro ist bis Freitag gesperrt. Schöne Grüße!",
		"Ça va ? Ünïcödé, 日本語, emoji 📬.")...)
}

func noIDMsg() []byte {
	h := header("cron@host.example.org (Cron Daemon)", "root@host.example.org", "Cron <root@host> /usr/local/bin/backup", 4, false)
	return crlf(append(h,
		"Content-Type: text/plain; charset=us-ascii",
		"",
		"backup: 1432 files, 2.1 GiB, done in 00:04:12")...)
}

// redeliveredMsg returns message 5, or with received set message 6: the
// same Message-ID and body, with one more Received: header on top.
func redeliveredMsg(received bool) func() []byte {
	return func() []byte {
		h := header("Dave <dave@example.com>", "bob@example.net", "Minutes of the meeting", 5, true)
		if received {
			h = append([]string{"Received: from mx2.example.net (mx2.example.net [192.0.2.25])\r\n\tby pop.example.net with ESMTPS id 4Tq9; Mon, 4 Mar 2024 10:02:11 +0100"}, h...)
		}
		return crlf(append(h,
			"Content-Type: text/plain; charset=us-ascii",
			"",
			"1. Budget approved.",
			"2. Next meeting on the 18th.")...)
	}
}

var (
	senders  = []string{"Erin Blake <erin@example.org>", "Frank Ocampo <frank@corp.example>", "GitHub <noreply@github.example>", "Hana Sato <hana@example.jp>", "Invoices <billing@vendor.example>", "Ivan Petrov <ivan@example.ru>"}
	subjects = []string{"Re: quarterly report", "Your invoice #%d", "[project] build %d failed", "Photos from the trip", "Fwd: contract draft v%d", "Weekly digest %d"}
	words    = strings.Fields("the of and to in is that for it as with was on be by at this from or have an are not but had which one you all were we when there can said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know")
)

// variedMsg returns message i (>= 7): text, multipart/alternative or
// with an attachment, depending on i.
func variedMsg(i int) []byte {
	from := senders[i%len(senders)]
	subject := subjects[i%len(subjects)]
	if strings.Contains(subject, "%d") {
		subject = fmt.Sprintf(subject, 1000+i)
	}
	h := header(from, "bob@example.net", subject, i, true)
	if i%5 == 0 {
		h = append([]string{fmt.Sprintf("Received: from mail%d.example.org by pop.example.net; %s", i%3, sampleBase.Add(time.Duration(i)*97*time.Minute).Format(time.RFC1123Z))}, h...)
	}
	text := prose(i, 3+i%17)
	switch i % 3 {
	case 0:
		return plainBody(h, text)
	case 1:
		return alternative(h, i, text)
	}
	return withAttachment(h, i, text)
}

func plainBody(h []string, text []string) []byte {
	return crlf(append(append(h, "Content-Type: text/plain; charset=us-ascii", ""), text...)...)
}

func alternative(h []string, i int, text []string) []byte {
	b := fmt.Sprintf("=_alt_%06d", i)
	lines := append(h, "Content-Type: multipart/alternative; boundary=\""+b+"\"", "", "--"+b,
		"Content-Type: text/plain; charset=us-ascii", "")
	lines = append(lines, text...)
	lines = append(lines, "--"+b, "Content-Type: text/html; charset=us-ascii", "", "<html><body>")
	for _, l := range text {
		lines = append(lines, "<p>"+l+"</p>")
	}
	return crlf(append(lines, "</body></html>", "--"+b+"--")...)
}

func withAttachment(h []string, i int, text []string) []byte {
	b := fmt.Sprintf("=_mixed_%06d", i)
	lines := append(h, "Content-Type: multipart/mixed; boundary=\""+b+"\"", "", "--"+b,
		"Content-Type: text/plain; charset=us-ascii", "")
	lines = append(lines, text...)
	lines = append(lines, "--"+b,
		fmt.Sprintf("Content-Type: application/octet-stream; name=\"data-%d.bin\"", i),
		"Content-Transfer-Encoding: base64",
		fmt.Sprintf("Content-Disposition: attachment; filename=\"data-%d.bin\"", i), "")
	lines = append(lines, base64Lines(i, 512+(i*7919)%20000)...)
	return crlf(append(lines, "--"+b+"--")...)
}

// prose returns n lines of filler text determined by seed.
func prose(seed, n int) []string {
	x := uint32(seed)*2654435761 + 1
	lines := make([]string, n)
	for l := range lines {
		var sb strings.Builder
		for sb.Len() < 60 {
			x = x*1664525 + 1013904223
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(words[x>>16%uint32(len(words))])
		}
		lines[l] = sb.String()
	}
	return lines
}

// base64Lines returns size pseudo-random bytes, base64 in 76-column lines.
func base64Lines(seed, size int) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	x := uint32(seed) + 7
	chars := make([]byte, (size+2)/3*4)
	for i := range chars {
		x = x*1103515245 + 12345
		chars[i] = alphabet[x>>16%64]
	}
	var lines []string
	for len(chars) > 76 {
		lines = append(lines, string(chars[:76]))
		chars = chars[76:]
	}
	return append(lines, string(chars))
}
