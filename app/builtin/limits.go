package builtin

// The bounds of one tool call, so that no folder (a million entries, a deep tree, big
// files) and no argument makes a call expensive.
const (
	// maxEntries bounds what list returns of one folder.
	maxEntries = 1000
	// maxListScan bounds the entries list reads of one folder to choose those it returns.
	maxListScan = 4 * maxEntries
	// maxFilesWalked bounds the files one search looks at.
	maxFilesWalked = 5000
	// maxWalkEntries bounds the directory entries of any kind one search reads: a folder
	// of a million entries that are not files costs as much to read as files do.
	maxWalkEntries = 2 * maxFilesWalked
	// maxWalkDepth bounds how many folders below the top one search walks into.
	maxWalkDepth = 32
	// maxSearchText bounds the bytes of text one search reads; files after that match by
	// name only.
	maxSearchText = 64 << 20
	// maxQueryLen bounds a search query, in bytes.
	maxQueryLen = 1024
)

// limits are the bounds a folder applies. They are a value of the folder, not constants,
// only so that tests can reach a bound with a few hundred entries instead of thousands.
type limits struct {
	listEntries, listScan             int
	walkFiles, walkEntries, walkDepth int
	searchText                        int64
}

func defaultLimits() limits {
	return limits{
		listEntries: maxEntries,
		listScan:    maxListScan,
		walkFiles:   maxFilesWalked,
		walkEntries: maxWalkEntries,
		walkDepth:   maxWalkDepth,
		searchText:  maxSearchText,
	}
}
