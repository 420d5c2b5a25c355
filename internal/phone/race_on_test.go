//go:build race

package phone

// corpusEvery: the race detector slows the library's parser tenfold or
// more, so race builds compare every tenth number of the corpus (the
// comparison is about answers, not concurrency; TestRegionConcurrent is
// the race test).
const corpusEvery = 10
