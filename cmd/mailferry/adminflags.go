package main

import "github.com/spf13/pflag"

// adminFlags are the admin login flags: --target-admin-user and
// --target-master-separator set the target's admin_user and
// master_separator, --source-admin-user and --source-master-separator
// every source's (the config file's, --source URLs', or in mailferry
// batch each account's). They win over the config file; in mailferry
// batch an account's column (target.admin_user, ...) wins over them.
// The admin's password stays where it was: password_env, password_file,
// or the account's columns.
type adminFlags struct {
	SourceUser, SourceSeparator string
	TargetUser, TargetSeparator string
}

// addFlags adds the admin flags to f.
func (a *adminFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&a.SourceUser, "source-admin-user", "",
		"log in to the source as this admin on each source user's mailbox, with the admin's password (admin_user of the source)")
	f.StringVar(&a.SourceSeparator, "source-master-separator", "",
		"with --source-admin-user: log in as user+SEPARATOR+admin (Dovecot's \"*\") (master_separator of the source)")
	f.StringVar(&a.TargetUser, "target-admin-user", "",
		"log in to the target as this admin on the target user's mailbox, with the admin's password (target.admin_user)")
	f.StringVar(&a.TargetSeparator, "target-master-separator", "",
		"with --target-admin-user: log in as user+SEPARATOR+admin (target.master_separator)")
}

// apply sets the flags given on c, except the keys in skip (an account's
// own columns, named as config keys: target.admin_user, ...). When c has
// no source and a --source-* flag is given, batch (one) makes one for it:
// the settings every account's source gets.
func (a *adminFlags) apply(c *Config, skip map[string]string, batch bool) {
	set := func(dst *string, val, key string) {
		if _, own := skip[key]; val != "" && !own {
			*dst = val
		}
	}
	set(&c.Target.AdminUser, a.TargetUser, "target.admin_user")
	set(&c.Target.MasterSeparator, a.TargetSeparator, "target.master_separator")
	if batch && len(c.Sources) == 0 && (a.SourceUser != "" || a.SourceSeparator != "") {
		c.Sources = []SourceEndpoint{{}}
	}
	for i := range c.Sources {
		set(&c.Sources[i].AdminUser, a.SourceUser, "source.admin_user")
		set(&c.Sources[i].MasterSeparator, a.SourceSeparator, "source.master_separator")
	}
}
