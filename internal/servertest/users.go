package servertest

import (
	"fmt"
	"strings"
	"testing"
)

// A User is a mail account of a test server.
type User struct {
	Name, Password string
}

// CheckUsers checks the accounts of a harness's Options in order and
// returns them by name. For each, valid (when set) says what is wrong with
// it, its name first; then an empty password or one with a line break is
// refused, and so is a name given twice.
func CheckUsers(users []User, valid func(User) error) (map[string]User, error) {
	byName := map[string]User{}
	for _, u := range users {
		if valid != nil {
			if err := valid(u); err != nil {
				return nil, err
			}
		}
		switch {
		case strings.ContainsAny(u.Password, "\r\n") || u.Password == "":
			return nil, fmt.Errorf("user %s: empty password or line break in it", u.Name)
		case byName[u.Name] != (User{}):
			return nil, fmt.Errorf("user %s given twice", u.Name)
		}
		byName[u.Name] = u
	}
	return byName, nil
}

// FetchAs is Fetch for a harness's method (harness names it, "cyrustest"):
// it logs in at addr as user, one of users, and fails t when user is not
// one of them or the fetch fails.
func FetchAs(t testing.TB, harness, addr string, users map[string]User, user, folder string) []Message {
	t.Helper()
	u := account(t, harness, "fetch", users, user)
	msgs, err := Fetch(addr, u.Name, u.Password, folder)
	if err != nil {
		t.Fatalf("%s: fetch %s/%q: %v", harness, user, folder, err)
	}
	return msgs
}

// FoldersAs is Folders for a harness's method, as FetchAs is for Fetch.
func FoldersAs(t testing.TB, harness, addr string, users map[string]User, user string) []string {
	t.Helper()
	u := account(t, harness, "folders", users, user)
	names, err := Folders(addr, u.Name, u.Password)
	if err != nil {
		t.Fatalf("%s: folders of %s: %v", harness, user, err)
	}
	return names
}

// AppendAs is Append for a harness's method, as FetchAs is for Fetch.
func AppendAs(t testing.TB, harness, addr string, users map[string]User, user, folder string, msgs [][]byte) {
	t.Helper()
	u := account(t, harness, "seed", users, user)
	if err := Append(addr, u.Name, u.Password, folder, msgs); err != nil {
		t.Fatalf("%s: seed %s/%q: %v", harness, user, folder, err)
	}
}

func account(t testing.TB, harness, op string, users map[string]User, user string) User {
	t.Helper()
	u, ok := users[user]
	if !ok {
		t.Fatalf("%s: %s: unknown user %q", harness, op, user)
	}
	return u
}
