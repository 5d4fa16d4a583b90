//go:build race

package builtin

// raceDetector is true under -race, which allows at most 8128 live goroutines.
const raceDetector = true
