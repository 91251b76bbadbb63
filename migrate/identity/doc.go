// Package identity computes what makes two messages the same for mailferry:
// the dedup key (the Message-ID, else a content hash), the hash of the body,
// and the internal date a message should carry, in one streaming pass over
// the exact bytes (RFC 5322).
//
// Two messages are duplicates when they share a key and a body hash. The
// key of a message with a well-formed Message-ID is that ID in angle
// brackets ("<id@host>"); any other message is keyed by "sha256:" and the
// hash of its bytes with line endings normalised to CRLF and the header
// fields that local mail clients add left out, so a message is never
// dropped or merged just because it lacks an ID.
//
// Some servers alter what they store: Cyrus IMAP (default "munge8bit:
// yes") replaces every byte >= 0x80 of the header block with 'X', which
// changes a Message-ID or a content hash. ID.Munged is the identity of
// that form, computed in the same pass (a second hash of the body only
// when the header block holds such a byte), so that such a copy can be
// found again; ID.Full (NewFull) hashes the whole message for a
// byte-for-byte comparison.
package identity
