// Package thunderbird reads the local mail of a Thunderbird profile as a
// source.Source, strictly read-only and byte for byte, by delegating to
// source/mbox (with Options.Mozilla) and source/maildir.
//
// # What Path may be
//
//   - A profile directory: it holds prefs.js, Mail/ or ImapMail/.
//   - A profile's Mail/ directory: its subdirectories are the accounts.
//     When the parent holds prefs.js it is read as for a profile, but only
//     accounts stored under Mail/ are used.
//   - One account directory (Mail/pop.example.net, Mail/Local Folders):
//     it holds mbox files beside .msf files, NAME.sbd/ directories, or
//     maildir folders.
//
// # Accounts
//
// prefs.js is read when present, best effort: the servers of the accounts
// listed in mail.accountmanager.accounts (or every mail.server.serverN
// when that list is absent) give each account's directory
// (directory-rel "[ProfD]Mail/...", else directory), type, name and store
// kind (storeContractID). Types pop3, none (Local Folders), movemail and
// unknown local types are read; imap, nntp (News) and rss (Feeds)
// accounts are skipped and reported to Options.Warn (their mail is on
// their servers, or is not mail). The ImapMail/ and News/ directories
// are never read. A subdirectory of Mail/ that no account of prefs.js
// uses (left behind by an account the person removed, keeping its mail)
// is a failure Ref when it holds mail (see below), and is left out with
// a warning when it does not (Thunderbird's "smart mailboxes", which
// holds only indexes). Without prefs.js, or when it names no local
// account, every subdirectory of Mail/ is an account, except Feeds* ones.
//
// Local Folders is the account of mail.accountmanager.localfoldersserver
// (failing that, the account of type none in "Mail/Local Folders";
// without prefs.js, the directory "Local Folders").
//
// An account is a maildir store when prefs.js says so
// (@mozilla.org/msgstore/maildirstore;1) or when one of its
// subdirectories holds cur/ or new/; otherwise it is an mbox tree.
//
// # Folder names
//
// Folder paths are "/"-separated and keep Thunderbird's own names
// (Inbox, Sent, Drafts, Trash, Junk, Archives, Templates, in whatever
// language), so that the engine maps a top-level Inbox to INBOX and the
// others to the target's special folders. NAME.sbd/ holds the subfolders
// of NAME: "Inbox.sbd/Work.sbd/2024" is "Inbox/Work/2024". Names are
// given in Unicode NFC (macOS stores file names decomposed).
//
//   - With one account, its folders are the top level.
//   - With several, the primary account's folders are the top level, and
//     so are Local Folders' ("on this computer": Thunderbird's name for the
//     person's own tree, not an account they named): its Inbox is "Inbox"
//     (the target's INBOX), its Sent, Drafts, Trash, Junk and Archives
//     land in the target's folders of those roles, its own folders by
//     name ("Projets/Été 2025/Réunions"). Folders of the same name in
//     both are merged.
//   - Every other account's folders sit under the account's name (prefs
//     mail.server.serverN.name, else its directory name):
//     "user@example.org/Sent". A '/' in an account name becomes '_'; two
//     accounts of the same name get their directory name added in
//     parentheses. Options.MergeAccounts (config merge_accounts) names
//     accounts to merge into the top level too, by that name or by their
//     directory name; "*" merges every account.
//   - The primary account is the default account of prefs.js (or the
//     account it defers its mail to, Thunderbird's global inbox); failing
//     that, the only account other than Local Folders; failing that,
//     Local Folders; failing that, the first by directory name.
//
// # Messages, flags and order
//
// mbox stores are read as source/mbox documents with Mozilla set:
// X-Mozilla-Status 0x0001 \Seen, 0x0002 \Answered, 0x0004 \Flagged,
// 0x0008 expunged (never listed), X-Mozilla-Keys keywords. Thunderbird's
// maildir store keeps one message per file in FOLDER/cur/ with no ":2,"
// flags: List reads each file's header and applies mbox.Flags to it, so
// flags and expunged messages are treated as in mbox stores; a message
// marked \Deleted is left out unless Options.IncludeDeleted. A maildir
// message file that starts with a "From - date" envelope line (some
// Thunderbird versions write one) is given without that line. A maildir
// message whose header has a Date gets no Ref.Date (the engine takes the
// header's), since Thunderbird sets file times when it copies.
//
// The filed copy wins: List gives every account's messages but its
// Inbox's first, then every account's Inbox (the folder "Inbox" at the
// top of the account, where POP3 mail arrives; not its subfolders, which
// the person filed into). A message both filed and still in an Inbox (a
// POP3 account that leaves mail on the server downloads it again, or the
// person copied it) is so read first from the folder it was filed into,
// and with the engine's dedup by account it lands there once. Both parts
// are listed account by account, primary first, then by directory name;
// within an account, in the order of source/mbox (files by path) or
// folders by their path on disk, then source/maildir's order. The
// Inboxes' Refs wait in memory while the rest is listed (a few hundred
// bytes each).
//
// # Never a silent skip
//
// What holds mail and cannot be read is listed as a failure Ref: a Ref
// whose Open returns a source.UnreadableError with the reason, so that
// the run lists it as failed and exits 1, and tries again next run. Its
// Ref.ID names what was not read (below), its Ref.Folder the folder it
// would be; an exclude pattern on that folder leaves it out. They are:
//
//   - a directory of Mail/ no account uses that holds mail: ID its
//     directory name ("old.example.org");
//   - in an mbox store, a file that source/mbox reports and gives no
//     message of (not an mbox file, not a regular file, such as a
//     NAME.sbd link): ID account key, "/", its path in the account
//     ("pop.example.net/Junk"); files that are not mail (.msf, .dat,
//     .json, .html, .sqlite, desktop.ini, Thumbs.db) are left out;
//   - in a maildir store, a NAME.sbd that cannot be read, and a file or
//     directory that is neither a folder nor Thunderbird's own and holds
//     mail: ID account key, "/", its path in the account; a maildir
//     folder inside a folder: ID account key, "/", the folder's path in
//     the account, "/", its name, "/"; and what source/maildir cannot
//     read (a message file without read permission, a link to nothing).
//
// What loses no mail is only reported to Options.Warn: IMAP, news and
// feed accounts, directories without mail, keywords that cannot be
// read. Messages Thunderbird marked expunged (X-Mozilla-Status 0x0008:
// deleted, the folder not compacted yet) are intentionally not copied:
// the person deleted them.
//
// # Identity
//
// Ref.ID is the account's directory name, "/", and the inner source's
// ID: "pop.example.net/Inbox.sbd/Work#0#<hash>" for mbox stores, and for
// maildir stores the folder's directory relative to the account, "/",
// and the file's unique name ("Local Folders/Inbox.sbd/Work/1712.eml").
// IDs are the same whether Path names the profile, Mail/ or the account.
//
// # Limits
//
// Accounts and maildir folders are found by New; what appears later is
// seen by a new Source. Folder names Thunderbird had to hash on disk
// (names with characters the file system refuses) keep the hashed name:
// the real one is only in the .msf (Mork) file, which is not read.
package thunderbird
