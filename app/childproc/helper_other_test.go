//go:build !linux && !darwin

package childproc

// runHelper has no part to play where the tests with real process trees do not run.
func runHelper(role string) int { return 2 }
