package main

import "github.com/spf13/pflag"

// The certificate flags: for a job given on the command line (--source,
// --target), the config keys ca_file, tls_fingerprint and
// tls_skip_verify. The --target-* flags set the target's keys (also under
// a config file, like --target); the --source-* flags apply to every
// --source URL and need one.

// sourceTLS is what the --source-* flags set.
type sourceTLS struct {
	CAFile      string
	Fingerprint string
	SkipVerify  bool
}

// addTLSFlags adds the certificate flags of the source and the target.
func (o *JobFlags) addTLSFlags(f *pflag.FlagSet) {
	f.StringVar(&o.SourceTLS.CAFile, "source-ca-file", "",
		"PEM file of the authorities to trust for the --source servers' certificates (ca_file)")
	f.StringVar(&o.SourceTLS.Fingerprint, "source-tls-fingerprint", "",
		"accept exactly the --source server certificate with this SHA-256 fingerprint, sha256:HEX, trusted or not (tls_fingerprint)")
	f.BoolVar(&o.SourceTLS.SkipVerify, "source-tls-skip-verify", false,
		"accept any certificate from the --source servers; warns on every run (tls_skip_verify)")
	f.String("target-ca-file", "", "PEM file of the authorities to trust for the target's certificate (target.ca_file)")
	f.String("target-tls-fingerprint", "",
		"accept exactly the target certificate with this SHA-256 fingerprint, sha256:HEX, trusted or not (target.tls_fingerprint)")
	f.Bool("target-tls-skip-verify", false, "accept any certificate from the target; warns on every run (target.tls_skip_verify)")
}

// The --target-* flags join flagKeys, which bindFlags binds.
func init() {
	flagKeys["target-ca-file"] = "target.ca_file"
	flagKeys["target-tls-fingerprint"] = "target.tls_fingerprint"
	flagKeys["target-tls-skip-verify"] = "target.tls_skip_verify"
}

// check refuses --source-* flags without a --source to apply to.
func (t sourceTLS) check(sources int) error {
	if sources == 0 && t != (sourceTLS{}) {
		return configErrorf("--source-ca-file, --source-tls-fingerprint and --source-tls-skip-verify apply to --source URLs; " +
			"in a config file, set ca_file, tls_fingerprint or tls_skip_verify on the source")
	}
	return nil
}

// item adds the flags' settings to a --source item of the config.
func (t sourceTLS) item(m map[string]any) map[string]any {
	if t.CAFile != "" {
		m["ca_file"] = t.CAFile
	}
	if t.Fingerprint != "" {
		m["tls_fingerprint"] = t.Fingerprint
	}
	if t.SkipVerify {
		m["tls_skip_verify"] = true
	}
	return m
}
