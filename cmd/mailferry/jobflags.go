package main

import (
	"os"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// JobFlags are the flags that say which job: a config file, or sources
// on the command line, and the config keys a flag can set. migrate and
// verify share them.
type JobFlags struct {
	ConfigFile string
	Sources    []string
	Folder     string
	SourceTLS  sourceTLS  // --source-ca-file, ... (tlsflags.go)
	Admin      adminFlags // --source-admin-user, ... (adminflags.go)
	// stateFlag is whether --state was given (then a relative path is
	// the working directory's, not the config file's).
	stateFlag bool
}

// AddFlags adds the flags; those that name config keys are bound to them
// in bindFlags.
func (o *JobFlags) AddFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.ConfigFile, "config", "c", "", "YAML config file")
	f.StringArrayVar(&o.Sources, "source", nil, "source URL, instead of the config's sources (repeatable)")
	f.StringVar(&o.Folder, "folder", "INBOX", "target folder for --source")
	f.String("state", "", "state file (config key state)")
	f.String("target", "", "target URL, imaps://user@host[:port] or imap://user@host[:port] (target.url)")
	f.String("dedup", "", "dedup scope of the migration: account, folder or off (dedup)")
	f.Int("connections", 0, "IMAP connections to the target (target.connections)")
	f.Duration("lock-timeout", 0, "wait this long for another run to release the state file (lock_timeout)")
	o.addTLSFlags(f)
	o.Admin.addFlags(f)
}

// flagKeys are the config keys that flags set.
var flagKeys = map[string]string{
	"state": "state", "target": "target.url", "dedup": "dedup",
	"connections": "target.connections", "lock-timeout": "lock_timeout",
}

func bindFlags(v *viper.Viper, f *pflag.FlagSet) error {
	for flag, key := range flagKeys {
		if err := v.BindPFlag(key, f.Lookup(flag)); err != nil {
			return err
		}
	}
	return nil
}

// load loads the configuration with the flags of f, which AddFlags made.
func (o *JobFlags) load(f *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	if err := bindFlags(v, f); err != nil {
		return nil, err
	}
	o.stateFlag = f.Changed("state")
	return o.config(v)
}

// config loads the configuration, with --source replacing its sources.
func (o *JobFlags) config(v *viper.Viper) (*Config, error) {
	if err := o.SourceTLS.check(len(o.Sources)); err != nil {
		return nil, err
	}
	if len(o.Sources) > 0 {
		var list []map[string]any
		for _, s := range o.Sources {
			list = append(list, o.SourceTLS.item(map[string]any{"url": s, "folder": o.Folder}))
		}
		v.Set("sources", list)
	}
	if o.ConfigFile == "" && !v.IsSet("target.url") && os.Getenv("MAILFERRY_TARGET_URL") == "" {
		return nil, configErrorf("give --config FILE, or --target and --source (see mailferry migrate --help)")
	}
	c, err := readConfig(v, o.ConfigFile)
	if err != nil {
		return nil, err
	}
	o.Admin.apply(c, nil, false)
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.resolveState(o.ConfigFile, o.stateFlag)
	return c, nil
}
