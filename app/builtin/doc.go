// Package builtin is the MCP server MCP Share shares when nothing else is configured: it
// gives ChatGPT, Claude and other MCP clients read-only access to one folder of the user's
// (by default "~/MCP Share", chosen by the caller).
//
// [NewServer] builds a go-sdk server with three tools: search (file names and text content,
// ranked), fetch (the full text of one file) and list (the entries of a folder). search and
// fetch have the argument and result shapes ChatGPT's connectors and deep research expect.
// [EnsureFolder] creates the folder with a short README the first time.
//
// # Ids
//
// A file's id is its slash-separated path relative to the folder, unchanged when it is
// valid UTF-8 (as nearly every name is: "notes/todo.md", "100%.txt", "Report%20final.pdf").
// Linux allows any bytes in names, but JSON strings are UTF-8, so in an id each byte that
// is not part of valid UTF-8 is written %XX (upper-case hex, 80 to FF), and a "%" that
// would read as such an escape or as %25 is written %25: "caf\xe9.txt" (Latin-1) has the
// id "caf%E9.txt", and a file really named "caf%E9.txt" has the id "caf%25E9.txt". The
// encoding is a bijection between names and the ids it produces, so fetch(id) opens
// exactly the file list or search gave that id for; other ids with escapes are refused.
// Titles and list's names show U+FFFD for such bytes. See encodeID (id.go).
//
// # What is read
//
// No path leaves the folder: absolute paths and ".." are refused, every file is opened
// through an [os.Root] (which refuses symlinks that resolve outside it), and symlinks are
// also checked with filepath.EvalSymlinks so the refusal says why.
//
// Only regular files (and folders, for list and search's walk) are opened. Named pipes,
// sockets and devices are refused before they are opened: an open(2) of a FIFO for reading
// waits for a writer, and reading a device may never end. The type is looked at first
// (stat, or the directory entry's type during a walk); since a path can be replaced
// between that look and the open, the open is non-blocking where the platform has
// O_NONBLOCK, and the opened file is checked again with fstat (open.go).
//
// Each call is bounded, whatever the folder holds (limits.go): list reads at most 4,000
// entries of a folder and returns 1,000; search reads at most 10,000 directory entries,
// looks at 5,000 files, walks 32 folders deep, reads 64 MiB of text (2 MiB of a file),
// takes queries of 1 KiB and returns 20 results; fetch returns 1 MiB of a file; ids are at
// most 4 KiB. A bound reached is said in the result (truncated), and every refusal is a
// tool error that says what was refused and why. Binary files are never returned as text.
//
// The package does not write, rename or delete anything in the folder (apart from the
// README written by EnsureFolder), does not index or watch it, and knows nothing of HTTP,
// OAuth or sessions: the caller serves the returned server.
package builtin
