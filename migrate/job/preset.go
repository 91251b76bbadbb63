package job

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/mailferry/mailferry/source"
)

// Preset is what a mail provider documents for its IMAP and POP3
// servers; a zero field is a limit the provider does not publish, left
// out. Each value names its public source.
type Preset struct {
	IMAPHost, POP3Host string // with port; implicit TLS
	// MaxConnections caps target.connections (0: no cap).
	MaxConnections int
	// MaxMessageSize is the largest message the target accepts, in
	// octets (0: no cap): a larger one fails alone, unsent.
	MaxMessageSize int64
	// DailyUploadBytes is the documented IMAP upload quota per day (0:
	// none documented).
	DailyUploadBytes int64
}

// Presets are the providers a server's preset key may name.
var Presets = map[string]Preset{
	"gmail": {
		// https://support.google.com/mail/answer/7126229 (imap.gmail.com
		// port 993 and pop.gmail.com port 995, SSL required).
		IMAPHost: "imap.gmail.com:993",
		POP3Host: "pop.gmail.com:995",
		// https://support.google.com/mail/answer/97150 ("Too many
		// simultaneous connections": 15 IMAP connections per account
		// today; the page said 10 in 2008).
		MaxConnections: 15,
		// https://support.google.com/a/answer/1071518 ("Gmail bandwidth
		// limits": upload via IMAP, 500 MB per day).
		DailyUploadBytes: 500 << 20,
		// Gmail documents 25 MB for a message sent, not a limit on IMAP
		// APPEND: no size cap here.
	},
	"microsoft365": {
		// https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/pop3-and-imap4/pop3-and-imap4
		// (outlook.office365.com, IMAP port 993 and POP port 995, SSL/TLS).
		IMAPHost: "outlook.office365.com:993",
		POP3Host: "outlook.office365.com:995",
		// https://learn.microsoft.com/en-us/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits
		// (message size limits: up to 150 MB).
		MaxMessageSize: 150 << 20,
		// No public per-mailbox IMAP connection limit found: no cap.
	},
	"fastmail": {
		// https://www.fastmail.com/help/technical/servernamesandports.html
		// (imap.fastmail.com port 993, pop.fastmail.com port 995, SSL/TLS
		// only, no STARTTLS).
		IMAPHost: "imap.fastmail.com:993",
		POP3Host: "pop.fastmail.com:995",
		// No public IMAP connection, size or upload limit found: none.
	},
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	var names []string
	for n := range Presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// lookupPreset returns the preset named name ("" is none); key names the
// server in messages.
func lookupPreset(key, name string) (Preset, bool, error) {
	if name == "" {
		return Preset{}, false, nil
	}
	p, ok := Presets[strings.ToLower(name)]
	if !ok {
		return Preset{}, false, configErrorf("%s.preset: %q is not one of %s", key, name, strings.Join(PresetNames(), ", "))
	}
	return p, true, nil
}

// applyPreset fills the server's URL from preset p for proto ("imap" or
// "pop3"): a URL without a host gets the provider's host and port and
// implicit TLS (the scheme's "s"); a host the user wrote wins. A URL may
// be only the user ("alice@gmail.com"). The connections are lowered to
// the preset's cap.
func (e *Server) applyPreset(p Preset, proto string) {
	host := p.IMAPHost
	if proto == "pop3" {
		host = p.POP3Host
	}
	e.URL = presetURL(e.URL, proto, host)
	if p.MaxConnections > 0 && e.Connections > p.MaxConnections {
		e.Connections = p.MaxConnections
	}
}

// presetURL returns raw with host filled in when it has none.
func presetURL(raw, proto, host string) string {
	if !strings.Contains(raw, "://") {
		// Only the user: the preset's scheme, with implicit TLS.
		return proto + "s://" + url.User(raw).String() + "@" + host
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host != "" {
		return raw // the user's host wins; a bad URL is reported by Parse
	}
	u.Host = host
	if u.Scheme == proto && !strings.HasSuffix(host, fmt.Sprintf(":%d", defaultPorts[proto])) {
		// imap:// without a host: the preset's port speaks implicit TLS.
		u.Scheme = proto + "s"
	}
	return u.String()
}

// ApplyPresets applies the presets of the target and of the POP3
// sources (Validate calls it; applying twice changes nothing).
func (c *Config) ApplyPresets() error {
	p, ok, err := lookupPreset("target", c.Target.Preset)
	if err != nil {
		return err
	}
	if ok {
		c.Target.applyPreset(p, "imap")
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		p, ok, err := lookupPreset(fmt.Sprintf("sources[%d]", i), s.Preset)
		if err != nil {
			return err
		}
		if _, _, archive := source.ParseArchiveURL(s.URL); ok && archive {
			return configErrorf("sources[%d].preset: applies to POP3 sources only", i)
		}
		if ok {
			s.applyPreset(p, "pop3")
		}
	}
	return nil
}

// maxMessageSize is the size cap of e's preset (0: none).
func maxMessageSize(e *Server) int64 {
	p, _, _ := lookupPreset("target", e.Preset)
	if p.MaxMessageSize > 0 && testMaxMessageSize > 0 {
		return testMaxMessageSize
	}
	return p.MaxMessageSize
}
