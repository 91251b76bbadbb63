package pop3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/mailferry/mailferry/source"
)

// listing is one message of the maildrop.
type listing struct {
	num  int
	id   string
	size int64
}

// List calls fn for every message, in message-number order, with
// Ref{ID: UIDL, Size: LIST octets, Folder: ""}. It sends UIDL and LIST,
// together when the server announces PIPELINING. A server without UIDL is
// an error unless Options.AllowNoUIDL, in which case every message is
// retrieved now and ID is "sha256:" + the hex SHA-256 of its bytes;
// byte-identical messages then share an ID and only the first is listed.
// Messages that share a UIDL (popa3d) are told apart the same way (see
// splitShared).
//
// Open and OpenBatch use the message numbers of the last List. An error
// from fn stops the listing and is returned as is; the session stays
// usable. If ctx ends, List returns ctx.Err() and the session is broken.
func (s *Source) List(ctx context.Context, fn func(source.Ref) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	stop := s.watch(ctx)
	msgs, err := s.list(ctx)
	if err = s.finish(ctx, stop, ctxError(ctx, err)); err != nil {
		return err
	}
	for _, m := range msgs {
		if err := fn(source.Ref{ID: m.id, Size: m.size}); err != nil {
			return err
		}
	}
	return nil
}

// list reads the maildrop's listing and records the message numbers.
func (s *Source) list(ctx context.Context) ([]listing, error) {
	uidls, sizes, err := s.uidlAndList()
	if err != nil {
		return nil, err
	}
	var msgs []listing
	if uidls == nil {
		msgs, err = s.hashAll(ctx, sizes)
	} else {
		msgs, err = join(uidls, sizes)
		if err == nil {
			msgs, err = s.splitShared(ctx, msgs)
		}
	}
	if err != nil {
		return nil, err
	}
	s.nums = make(map[string]int, len(msgs))
	for _, m := range msgs {
		s.nums[m.id] = m.num
	}
	return msgs, nil
}

// uidlAndList sends UIDL and LIST and reads both replies. uidls is nil
// when the server has no UIDL and Options.AllowNoUIDL is set.
func (s *Source) uidlAndList() (uidls map[int]string, sizes map[int]int64, err error) {
	pipelined := s.window() > 1
	s.w.WriteString("UIDL\r\n")
	if pipelined {
		s.w.WriteString("LIST\r\n")
	}
	if err := s.flush(); err != nil {
		return nil, nil, fmt.Errorf("pop3 uidl: %w", err)
	}
	uidls, uidlErr := s.readUIDL()
	if uidlErr != nil && s.broken != nil {
		return nil, nil, uidlErr
	}
	if !pipelined {
		if err := s.cmd("LIST"); err != nil {
			return nil, nil, fmt.Errorf("pop3 list: %w", err)
		}
	}
	sizes, err = s.readLIST()
	if err != nil {
		return nil, nil, err
	}
	return uidls, sizes, uidlErr
}

// readUIDL reads the reply to UIDL.
func (s *Source) readUIDL() (map[int]string, error) {
	if _, err := s.readStatus(); err != nil {
		var se *ServerError
		if !errors.As(err, &se) || se.Temporary() {
			return nil, fmt.Errorf("pop3 uidl: %w", err)
		}
		if s.opts.AllowNoUIDL {
			return nil, nil
		}
		return nil, fmt.Errorf("pop3 uidl: the server does not support UIDL (%w), so messages have no stable ID; set allow_no_uidl: true to identify them by a SHA-256 of their content (every message is then downloaded at list time)", err)
	}
	uidls := make(map[int]string)
	err := s.readLines(func(line string) error {
		num, id, err := parseScan(line)
		if err == nil && uidls[num] != "" {
			err = fmt.Errorf("message %d listed twice", num)
		}
		uidls[num] = id
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pop3 uidl: %w", err)
	}
	return uidls, nil
}

// readLIST reads the reply to LIST.
func (s *Source) readLIST() (map[int]int64, error) {
	if _, err := s.readStatus(); err != nil {
		return nil, fmt.Errorf("pop3 list: %w", err)
	}
	sizes := make(map[int]int64)
	err := s.readLines(func(line string) error {
		num, field, err := parseScan(line)
		if err != nil {
			return err
		}
		size, err := strconv.ParseInt(field, 10, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("bad size in %q", line)
		}
		sizes[num] = size
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pop3 list: %w", err)
	}
	return sizes, nil
}

// parseScan splits a "num field" line of a UIDL or LIST reply.
func parseScan(line string) (int, string, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, "", fmt.Errorf("malformed line %.80q", line)
	}
	num, err := strconv.Atoi(f[0])
	if err != nil || num < 1 {
		return 0, "", fmt.Errorf("malformed line %.80q", line)
	}
	return num, f[1], nil
}

// join pairs UIDLs with sizes, in message-number order. A message LIST
// names and UIDL does not is an error: it would be skipped.
func join(uidls map[int]string, sizes map[int]int64) ([]listing, error) {
	msgs := make([]listing, 0, len(uidls))
	for num, id := range uidls {
		msgs = append(msgs, listing{num: num, id: id, size: sizes[num]})
	}
	for num := range sizes {
		if _, ok := uidls[num]; !ok {
			return nil, fmt.Errorf("pop3 uidl: message %d of LIST has no UIDL", num)
		}
	}
	slices.SortFunc(msgs, func(a, b listing) int { return a.num - b.num })
	return msgs, nil
}

// splitShared names the messages that share a UIDL with another by that
// UIDL, "#sha256:" and the hex SHA-256 of their bytes, which it retrieves
// now: popa3d makes a UIDL of a hash of Date, Received and Message-ID
// only, so all messages without them share one, and naming them by it
// alone would take every one after the first for done. Byte-identical
// messages then share an ID, and only the first is listed.
func (s *Source) splitShared(ctx context.Context, msgs []listing) ([]listing, error) {
	count := map[string]int{}
	for _, m := range msgs {
		count[m.id]++
	}
	var nums []int
	at := map[int]int{} // message number -> index in msgs
	for i, m := range msgs {
		if count[m.id] > 1 {
			nums = append(nums, m.num)
			at[m.num] = i
		}
	}
	if len(nums) == 0 {
		return msgs, nil
	}
	err := s.retrBatch(ctx, nums, func(i int, r io.Reader) error {
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return err
		}
		m := &msgs[at[nums[i]]]
		m.id += "#sha256:" + hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	kept := msgs[:0]
	for _, m := range msgs {
		if !seen[m.id] {
			seen[m.id] = true
			kept = append(kept, m)
		}
	}
	return kept, nil
}

// hashAll retrieves every message LIST named and names it by the SHA-256
// of its bytes; a message identical to an earlier one is left out.
func (s *Source) hashAll(ctx context.Context, sizes map[int]int64) ([]listing, error) {
	nums := make([]int, 0, len(sizes))
	for num := range sizes {
		nums = append(nums, num)
	}
	slices.Sort(nums)
	msgs := make([]listing, 0, len(nums))
	seen := make(map[string]bool, len(nums))
	err := s.retrBatch(ctx, nums, func(i int, r io.Reader) error {
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return err
		}
		id := "sha256:" + hex.EncodeToString(h.Sum(nil))
		if !seen[id] {
			seen[id] = true
			msgs = append(msgs, listing{num: nums[i], id: id, size: sizes[nums[i]]})
		}
		return nil
	})
	return msgs, err
}
