// Package face is the face factor service: it issues single-use live
// challenges bound to a login flow, answers them with the face engine
// (faceauth), keeps each user's sealed face template, and re-seals every
// template when the keyring rotates. It has no HTTP in it; idp/face_*.go
// serves it.
//
// Images and descriptors never leave this package's callees: the engine
// receives the raw frames, only the sealed template is stored, and audit
// events carry decisions and scores.
package face
