package faceauth

// DefaultMatchThreshold is the default largest accepted distance between a
// challenge and the enrolled template; see docs/face-engine.md for the
// measurements it was chosen from.
const DefaultMatchThreshold = 0.55

// DefaultSwapThreshold is the default largest distance between one frame's
// descriptor and the sequence's reference descriptor; identity swaps in the
// fixtures jump 0.61-0.66 while frames of one person stay under 0.08.
const DefaultSwapThreshold = 0.3
