//go:build race

package messenger

// raceEnabled: the race detector slows everything several times over, so
// timing checks only hold without it.
const raceEnabled = true
