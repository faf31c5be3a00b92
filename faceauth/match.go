package faceauth

// DefaultMatchThreshold is the default largest accepted distance between a
// challenge and the enrolled template; see docs/face-engine.md for the
// measurements it was chosen from.
const DefaultMatchThreshold = 0.6

// DefaultSwapThreshold is the default largest descriptor distance between
// consecutive frames. Measured at the capture size (320x240): one person's
// consecutive frames differ by up to 0.30 (at 5 fps during a turn), the
// identity swaps jump 0.62-0.66.
const DefaultSwapThreshold = 0.45
