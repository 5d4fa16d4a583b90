package builtin

import "github.com/modelcontextprotocol/go-sdk/mcp"

// Name is the name the built-in server is shared under (its resource is <origin>/mcp/files).
const Name = "files"

const instructions = `This server gives read-only access to one folder of the user's files ("MCP Share" folder).
Use search to find files by name or content, fetch to read one file by the id search returned,
and list to browse folders. Ids are paths relative to the shared folder, such as "notes/todo.md";
pass them exactly as search and list return them.`

// NewServer returns the built-in MCP server: read-only tools search, fetch and list over
// the folder root. The folder is opened anew on each call, so it may be created, replaced
// or filled while the server runs.
func NewServer(root string) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{
		Name:    "mcpshare-files",
		Title:   "MCP Share files",
		Version: "1.0.0",
	}, &mcp.ServerOptions{Instructions: instructions})
	t := &tools{root: root}
	readOnly := &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)}

	mcp.AddTool(s, &mcp.Tool{
		Name:  "search",
		Title: "Search files",
		Description: "Search the shared folder's files by name and text content. " +
			"Words in the query are matched case-insensitively; files whose names match rank above files that only mention the words, " +
			"and more mentions rank higher. Returns up to 20 results, each with an id (the file's path in the folder) to pass to fetch, " +
			"a title (the file name) and a text snippet around the first match. Hidden files (names starting with a dot), binary files and " +
			"the contents of files over 2 MiB are not searched. An empty query lists files in path order. " +
			"One search looks at up to 5,000 files, 32 folders deep; when the folder is larger, the result says truncated: true.",
		Annotations: readOnly,
	}, t.search)
	mcp.AddTool(s, &mcp.Tool{
		Name:  "fetch",
		Title: "Read a file",
		Description: "Return the full text of one file of the shared folder, by the id that search or list returned " +
			"(a path relative to the folder such as \"notes/todo.md\"); pass ids exactly as they were returned. " +
			"Text files only; files over 1 MiB are cut, with a note saying so.",
		Annotations: readOnly,
	}, t.fetch)
	mcp.AddTool(s, &mcp.Tool{
		Name:  "list",
		Title: "List a folder",
		Description: "List the files and subfolders of the shared folder, or of one of its subfolders given as path " +
			"(relative to the shared folder, as search and list return them; empty for the top). Each entry has its name, " +
			"id, type (\"file\" or \"dir\") and size in bytes. A folder with more than 1,000 entries is listed in part " +
			"(truncated: true); use search to find files in it.",
		Annotations: readOnly,
	}, t.list)
	return s
}

type tools struct {
	root string
}

// open opens the shared folder for one call.
func (t *tools) open() (*folder, error) { return openFolder(t.root) }
