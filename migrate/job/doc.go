// Package job turns the description of one migration job (a Config: the
// state file, the target, the sources) into a migrate.Migrator with its
// state open and its target connected. It is what `mailferry migrate`
// and `mailferry verify` run, and what a batch runner calls once per
// account: Config is a plain struct with no file format behind it, so a
// runner copies a base Config (Clone), sets the account's fields, and
// calls Build.
//
// Source kinds come from package source's registry: a source URL
// "kind:PATH" of a registered archive kind (mbox:, maildir:, eml:,
// thunderbird:, all registered by importing source/all, which this package
// does) is opened as that archive; any other URL is a POP3 server. The
// order in which sources are read is the engine's (see migrate.SourceSpec's
// Archive): Build keeps the order of Config.Sources.
//
// Errors that say the Config is wrong are *ConfigError, and name the
// settings as a config file does ("sources[1].delete"). Passwords come
// from each Server's Password function, when Build connects: they are
// never part of a Config.
package job
