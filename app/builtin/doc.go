// Package builtin is the MCP server MCP Share shares when nothing else is configured: it
// gives ChatGPT, Claude and other MCP clients read-only access to one folder of the user's
// (by default "~/MCP Share", chosen by the caller).
//
// [NewServer] builds a go-sdk server with three tools: search (file names and text content,
// ranked), fetch (the full text of one file) and list (the entries of a folder). search and
// fetch have the argument and result shapes ChatGPT's connectors and deep research expect,
// and file ids are slash-separated paths relative to the folder. [EnsureFolder] creates the
// folder with a short README the first time.
//
// No path leaves the folder: absolute paths and ".." are refused, every file is opened
// through an [os.Root] (which refuses symlinks that resolve outside it), and symlinks are
// also checked with filepath.EvalSymlinks so the refusal says why. Searching is bounded
// (files walked, file size, result count); binary files are never returned as text.
//
// Only regular files (and folders, for list and search's walk) are opened. Named pipes,
// sockets and devices are refused before they are opened: an open(2) of a FIFO for reading
// waits for a writer, and reading a device may never end. The type is looked at first
// (stat, or the directory entry's type during a walk); since a path can be replaced
// between that look and the open, the open is non-blocking where the platform has
// O_NONBLOCK, and the opened file is checked again with fstat (open.go).
//
// The package does not write, rename or delete anything in the folder (apart from the
// README written by EnsureFolder), does not index or watch it, and knows nothing of HTTP,
// OAuth or sessions: the caller serves the returned server.
package builtin
