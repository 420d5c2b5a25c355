// Package phone answers, for a number parsed by libphonenumber
// (github.com/nyaruka/phonenumbers), which region it belongs to and
// whether it is valid there: the answers of phonenumbers'
// GetRegionCodeForNumber and IsValidNumberForRegion, computed with less
// work, since every message's destination is checked on the intake's hot
// path.
//
// The library builds each pattern string and looks it up in a global
// cache for every number type it tries, matches the same pattern twice
// when a number has the type's length, and repeats the whole type check
// when a calling code is shared by several regions (+44: GB, GG, IM, JE;
// +1: 25 regions). Here the patterns of a region are compiled once, a
// type's possible lengths are compared before its pattern, each pattern
// is matched at most once, and the type check stops at the first type
// that matches, mobile first (validity does not depend on which type
// matches). The metadata and the patterns are the library's own, so the
// answers are the same; phone_test.go checks that on numbers of every
// calling code.
package phone

import (
	"regexp"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// nonGeo is the region of non-geographical calling codes (+800, +882 …).
const nonGeo = "001"

// region is one region's metadata, compiled.
type region struct {
	leading *regexp.Regexp // nil when the metadata has no leading digits
	general desc
	types   []desc // mobile and fixed line first, then the rarer types
}

// desc is one number type's pattern and possible lengths.
type desc struct {
	lengths []int32        // empty: any length the general description allows
	re      *regexp.Regexp // nil: the type has no pattern (matches no number)
}

func (d *desc) matches(nsn string) bool {
	if d.re == nil {
		return false
	}
	if len(d.lengths) > 0 {
		n, ok := int32(len(nsn)), false
		for _, l := range d.lengths {
			if l == n {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return d.re.MatchString(nsn)
}

// valid reports whether nsn is of some number type of r: the library's
// getNumberTypeHelper(nsn, metadata) != UNKNOWN.
func (r *region) valid(nsn string) bool {
	if !r.general.matches(nsn) {
		return false
	}
	for i := range r.types {
		if r.types[i].matches(nsn) {
			return true
		}
	}
	return false
}

// tables holds the compiled metadata: by region code, and the
// non-geographical entities by calling code. Built once, then only read.
type tables struct {
	byRegion map[string]*region
	nonGeo   map[int32]*region
}

var load = sync.OnceValue(func() *tables {
	t := &tables{byRegion: map[string]*region{}, nonGeo: map[int32]*region{}}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		// The library's embedded metadata does not parse: the library
		// itself could not have initialised. Every lookup then misses
		// and Region answers "not valid", never a wrong region.
		return t
	}
	for _, md := range coll.GetMetadata() {
		r := compile(md)
		if md.GetId() == nonGeo {
			t.nonGeo[md.GetCountryCode()] = r
		} else {
			t.byRegion[md.GetId()] = r
		}
	}
	return t
})

func compile(md *phonenumbers.PhoneMetadata) *region {
	r := &region{general: compileDesc(md.GetGeneralDesc())}
	if ld := md.GetLeadingDigits(); ld != "" {
		r.leading = regexp.MustCompile("^(?:" + ld + ")")
	}
	for _, d := range []*phonenumbers.PhoneNumberDesc{md.GetMobile(), md.GetFixedLine(), md.GetPremiumRate(),
		md.GetTollFree(), md.GetSharedCost(), md.GetVoip(), md.GetPersonalNumber(), md.GetPager(), md.GetUan(),
		md.GetVoicemail()} {
		if cd := compileDesc(d); cd.re != nil {
			r.types = append(r.types, cd)
		}
	}
	return r
}

// compileDesc compiles a number type's pattern exactly as the library
// matches it. A missing type, or one without a pattern, matches nothing:
// the library's "^(?:)$" matches only the empty string, and a national
// significant number is never empty.
func compileDesc(d *phonenumbers.PhoneNumberDesc) desc {
	if d == nil || d.GetNationalNumberPattern() == "" {
		return desc{}
	}
	return desc{lengths: d.PossibleLength, re: regexp.MustCompile("^(?:" + d.GetNationalNumberPattern() + ")$")}
}

// Region returns the region n belongs to and whether n is a valid number
// there: phonenumbers.GetRegionCodeForNumber(n) and
// phonenumbers.IsValidNumberForRegion(n, that region). The region is ""
// when the calling code is unknown or, for a calling code shared by
// several regions, when the number belongs to none of them; such a
// number is not valid. Safe for concurrent use.
func Region(n *phonenumbers.PhoneNumber) (string, bool) {
	cc := n.GetCountryCode()
	regions := phonenumbers.GetRegionCodesForCountryCode(int(cc))
	if len(regions) == 0 {
		return "", false
	}
	t := load()
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	if len(regions) == 1 {
		code := regions[0]
		r := t.byRegion[code]
		if code == nonGeo {
			r = t.nonGeo[cc]
		}
		return code, r != nil && r.valid(nsn)
	}
	// As the library: the first region whose leading digits match, or,
	// for a region without leading digits, whose number types match.
	for _, code := range regions {
		r := t.byRegion[code]
		if r == nil {
			continue
		}
		if r.leading != nil {
			if r.leading.MatchString(nsn) {
				return code, r.valid(nsn)
			}
		} else if r.valid(nsn) {
			return code, true
		}
	}
	return "", false
}
