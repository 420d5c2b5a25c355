// Package interop holds interoperability tests against independent SMPP implementations.
//
// The tests drive peers that nobody on this project wrote, so that a
// misreading of SMPP 3.4 shared by our encoder and our decoder cannot hide
// behind a round trip through our own code. Today the peer is Debian's
// libnet-smpp-perl (Net::SMPP 1.19), run from the Perl scripts in testdata/
// in both roles; see docs/interop.md.
//
// The package has no non-test code.
package interop
