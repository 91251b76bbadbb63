package pop3

// WithoutUTF8 returns opts with UTF-8 mode (RFC 6856) never asked for, to
// see what a server serves a client that does not ask.
func WithoutUTF8(opts Options) Options {
	opts.noUTF8 = true
	return opts
}
