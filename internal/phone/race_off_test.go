//go:build !race

package phone

const corpusEvery = 1
