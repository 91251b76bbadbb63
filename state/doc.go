// Package state records, in one bbolt file per target account, what
// mailferry has done, so that a run killed at any instant can be resumed
// without losing or duplicating mail.
//
// The file holds six top-level buckets:
//
//	meta     schema version and creation time
//	refs     one nested bucket per source; source message ID -> RefRecord
//	keys     "<key> 0x00 <body hash> 0x00 <folder>[ 0x00 <ref tag>]" -> KeyRecord
//	         (the dedup index; the ref tag part only when there is one)
//	pending  the same composite keys, for key records that are still pending
//	         -> their alternative identity (AltKey, AltBodyHash), or empty
//	folders  target folder name -> FolderRecord
//	runs     sequence number -> Run (the run history)
//
// Every write goes through one writer goroutine that gathers the requests
// queued while the previous transaction was being written into a single
// bbolt transaction, so many concurrent callers share one fsync. A write
// method returns only when its transaction is durable on disk (or its
// context ends). Reads run concurrently with the writer and each other.
//
// The store never holds secrets: no field carries a password or token.
// A process holds the file's lock from Open to Close; a second Open, from
// this or another process, fails with ErrLocked.
package state
