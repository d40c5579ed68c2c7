//go:build race

package ring

// raceEnabled: the race detector is on; stress tests scale down, and
// allocation counts (which it inflates) are not checked.
const raceEnabled = true
