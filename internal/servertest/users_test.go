package servertest

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckUsers(t *testing.T) {
	noRoot := func(u User) error {
		if u.Name == "root" {
			return errors.New("bad user name root")
		}
		return nil
	}
	byName, err := CheckUsers([]User{{"alice", "a"}, {"bob", "b"}}, noRoot)
	if err != nil || len(byName) != 2 || byName["bob"].Password != "b" {
		t.Errorf("CheckUsers(alice, bob) = %v, %v", byName, err)
	}
	for _, c := range []struct {
		users []User
		want  string
	}{
		{[]User{{"root", "x"}}, "bad user name root"},
		{[]User{{"alice", ""}}, "empty password"},
		{[]User{{"alice", "a\nb"}}, "line break"},
		{[]User{{"alice", "a"}, {"alice", "b"}}, "given twice"},
	} {
		if _, err := CheckUsers(c.users, noRoot); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckUsers(%v) = %v, want an error saying %q", c.users, err, c.want)
		}
	}
}
