package main

import (
	"errors"
	"fmt"
	stdmaps "maps"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/mailferry/mailferry/migrate/batch"
	"github.com/mailferry/mailferry/migrate/job"
)

// refusedColumns are the config keys an accounts file may not set per
// account, with what to use instead.
var refusedColumns = map[string]string{
	"state":                      "the state file is named per account: use the state_dir column",
	"state_dir":                  "use the state_dir column",
	"sources":                    "use source.KEY columns (the settings of the account's source)",
	"target":                     "use target.KEY columns",
	"max_connections_per_server": "it is the batch's cap over all accounts: set it in the base config",
	"target.url":                 "use target_user (the host is the base config's target.url)",
	"source.url":                 "use source_url and source_user",
	"source.folder":              "use the folder column",
	"target.password_env":        "use target_password_env",
	"target.password_file":       "use target_password_file",
	"target.password_command":    "use target_password_env or target_password_file",
	"source.password_env":        "use source_password_env",
	"source.password_file":       "use source_password_file",
	"source.password_command":    "use source_password_env or source_password_file",
}

// overrideColumn says whether an accounts file column not in
// batch.Columns is a setting: a top-level config key (dedup,
// lock_timeout, ...), target.KEY or source.KEY (a key of the base
// config's source). A password or a key that cannot differ per account
// is refused, saying what to use instead; another name is unknown.
func overrideColumn(name string) error {
	side, key, nested := strings.Cut(name, ".")
	if strings.Contains(key, "password") && !strings.HasSuffix(key, "_env") && !strings.HasSuffix(key, "_file") ||
		!nested && strings.Contains(name, "password") {
		s := "target"
		if strings.HasPrefix(name, "source") {
			s = "source"
		}
		return fmt.Errorf("column %s: no passwords in the accounts file: use %s_password_env or %s_password_file", name, s, s)
	}
	if why, ok := refusedColumns[name]; ok {
		return fmt.Errorf("column %s cannot differ per account: %s", name, why)
	}
	var fields map[string]reflect.Type
	switch {
	case !nested:
		fields = configFields(reflect.TypeFor[Config]())
		key = side
	case side == "target":
		fields = configFields(reflect.TypeFor[Endpoint]())
	case side == "source":
		fields = configFields(reflect.TypeFor[SourceEndpoint]())
	}
	if _, ok := fields[key]; ok && fields != nil {
		return nil
	}
	return fmt.Errorf("unknown column %q (known columns: %s; or a config key: dedup, target.KEY, source.KEY)",
		name, strings.Join(batch.Columns, ", "))
}

// accountBase loads the base config file again with the account's
// settings columns set over it, exactly as if the file said so (each
// cell read as a YAML value), and makes its job. The admin flags, when
// not nil, apply to the keys the account has no column for.
func accountBase(file string, a batch.Account, admin *adminFlags) (job.Config, error) {
	cols := slices.Sorted(stdmaps.Keys(a.Overrides))
	v := viper.New()
	var source map[string]any
	for _, col := range cols {
		var val any
		if err := yaml.Unmarshal([]byte(a.Overrides[col]), &val); err != nil || val == nil {
			val = a.Overrides[col]
		}
		if key, ok := strings.CutPrefix(col, "source."); ok {
			if source == nil {
				source = map[string]any{}
			}
			source[key] = val
			continue
		}
		v.Set(col, val)
	}
	what := func(err error) error {
		return &configError{fmt.Errorf("columns %s: %w", strings.Join(cols, ", "), err)}
	}
	if source != nil {
		base := viper.New()
		base.SetConfigFile(file)
		if err := base.ReadInConfig(); err != nil {
			return job.Config{}, what(err)
		}
		list, _ := base.Get("sources").([]any)
		switch len(list) {
		case 0:
			list = []any{map[string]any{}}
		case 1:
		default:
			return job.Config{}, what(errors.New("the base config may have at most one source"))
		}
		s := map[string]any{}
		if m, ok := list[0].(map[string]any); ok {
			stdmaps.Copy(s, m)
		}
		stdmaps.Copy(s, source)
		v.Set("sources", []any{s})
	}
	c, err := readConfig(v, file)
	if err != nil {
		return job.Config{}, what(err)
	}
	if admin != nil {
		admin.apply(c, a.Overrides, true)
	}
	jc, err := c.jobConfig()
	if err != nil {
		return job.Config{}, what(err)
	}
	return jc, nil
}
