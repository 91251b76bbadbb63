package main

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// unknownKeys reads the YAML config file and returns a configError that
// names each key Config does not have, with its line and the nearest known
// key: "unknown key `souces` at line 4 (did you mean `sources`?)". It
// returns nil when it finds none (or cannot read the file: the caller's
// error stands then).
func unknownKeys(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	var found []string
	checkKeys(doc.Content[0], reflect.TypeFor[Config](), "", &found)
	if len(found) == 0 {
		return nil
	}
	return configErrorf("config %s: %s", file, strings.Join(found, "; "))
}

// checkKeys adds to found each key of the mapping n that t has no field
// for, and descends into the fields it knows. at names n ("" at the top).
func checkKeys(n *yaml.Node, t reflect.Type, at string, found *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", at, i), found)
		}
		return
	case t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Duration]() || n.Kind != yaml.MappingNode:
		return
	}
	fields := configFields(t)
	var names []string
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := strings.ToLower(k.Value)
		ft, ok := fields[name]
		if ok {
			checkKeys(v, ft, join(at, name), found)
			continue
		}
		msg := fmt.Sprintf("unknown key `%s` at line %d", join(at, k.Value), k.Line)
		if s := nearest(name, names); s != "" {
			msg += fmt.Sprintf(" (did you mean `%s`?)", join(at, s))
		} else {
			msg += fmt.Sprintf(" (known keys here: %s)", strings.Join(names, ", "))
		}
		*found = append(*found, msg)
	}
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// configFields are the keys of the struct t, by their mapstructure tags
// (squashed structs' fields included), with their types.
func configFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "squash") {
			for k, v := range configFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f.Type
	}
	return fields
}

// nearest returns the name of names closest to s if it is near enough to
// be a typing mistake, else "".
func nearest(s string, names []string) string {
	best, bestD := "", 0
	for _, n := range names {
		d := editDistance(s, n)
		if best == "" || d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" || bestD > max(2, len(s)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
