package futex

// Sleepers tells the tests that a sleeper is really asleep, without waking
// it.
var Sleepers = sleepers
