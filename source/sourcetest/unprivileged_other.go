//go:build !linux

package sourcetest

import "errors"

// dropFileRoot is only possible on Linux: run these tests as another user.
func dropFileRoot() error {
	return errors.New("running as root: file permissions cannot be made to apply outside Linux; run the tests as another user")
}
