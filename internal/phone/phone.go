// Package phone reads phone numbers with libphonenumber
// (github.com/nyaruka/phonenumbers) and answers which region a number
// belongs to and whether it is valid there, with the library's answers
// and a fraction of its work, since every message's destination is
// checked on the intake's hot path.
//
// Validation: the library builds each pattern string and looks it up in
// a global cache for every number type it tries, matches the same pattern
// twice when a number has the type's length, and repeats the whole type
// check when a calling code is shared by several regions (+44: GB, GG,
// IM, JE; +1: 25 regions). Here the patterns of a region are compiled
// once, on its first use, a type's possible lengths are compared before
// its pattern, each pattern is matched at most once, and the type check
// stops at the first type that matches, mobile first (validity does not
// depend on which type matches).
//
// Parsing: a number written as "+" and digits is split into calling code
// and national number directly when the library would keep those digits
// unchanged (see Parse); anything else goes through the library's parser.
//
// The metadata and the patterns are the library's own; phone_test.go
// checks the answers against the library on numbers of every calling
// code, and fuzzes them.
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
	prefix  *regexp.Regexp // the national prefix for parsing; nil when none
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

// tables holds the metadata: by region code, and the non-geographical
// entities by calling code. The maps are built once, then only read; each
// region's patterns are compiled on its first use.
type tables struct {
	byRegion map[string]*entry
	nonGeo   map[int32]*entry
}

// entry is one region's metadata and, once compiled, its patterns.
type entry struct {
	md   *phonenumbers.PhoneMetadata
	once sync.Once
	r    *region // set by once
}

func (e *entry) region() *region {
	if e == nil {
		return nil
	}
	e.once.Do(func() { e.r = compile(e.md) })
	return e.r
}

var load = sync.OnceValue(func() *tables {
	t := &tables{byRegion: map[string]*entry{}, nonGeo: map[int32]*entry{}}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		// The library's embedded metadata does not parse: the library
		// itself could not have initialised. Every lookup then misses
		// and Region answers "not valid", never a wrong region.
		return t
	}
	for _, md := range coll.GetMetadata() {
		if md.GetId() == nonGeo {
			t.nonGeo[md.GetCountryCode()] = &entry{md: md}
		} else {
			t.byRegion[md.GetId()] = &entry{md: md}
		}
	}
	return t
})

// main returns the compiled metadata of code, a region of calling code
// cc, or nil.
func (t *tables) main(cc int32, code string) *region {
	if code == nonGeo {
		return t.nonGeo[cc].region()
	}
	return t.byRegion[code].region()
}

func compile(md *phonenumbers.PhoneMetadata) *region {
	r := &region{general: compileDesc(md.GetGeneralDesc())}
	if ld := md.GetLeadingDigits(); ld != "" {
		r.leading = regexp.MustCompile("^(?:" + ld + ")")
	}
	if np := md.GetNationalPrefixForParsing(); np != "" {
		r.prefix = regexp.MustCompile("^(?:" + np + ")")
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
	return regionOf(n.GetCountryCode(), phonenumbers.GetNationalSignificantNumber(n))
}

// regionOf is Region for calling code cc and national significant
// number nsn.
func regionOf(cc int32, nsn string) (string, bool) {
	regions := phonenumbers.GetRegionCodesForCountryCode(int(cc))
	if len(regions) == 0 {
		return "", false
	}
	t := load()
	if len(regions) == 1 {
		r := t.main(cc, regions[0])
		return regions[0], r != nil && r.valid(nsn)
	}
	// As the library: the first region whose leading digits match, or,
	// for a region without leading digits, whose number types match.
	for _, code := range regions {
		r := t.byRegion[code].region()
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

// Parse reads a phone number, in E.164 or (with defaultRegion, ISO 3166
// alpha-2) in national form, and returns it in E.164 with its region and
// whether it is valid there. err is phonenumbers.Parse's, for text that
// is not a phone number at all. The answers are those of
// phonenumbers.Parse, Format(E164), GetRegionCodeForNumber and
// IsValidNumberForRegion.
//
// A number written as "+" and digits, the common case on the intake's
// path, is mostly read without the library's parser (which, among other
// things, searches every number for an extension with a large regular
// expression): when its calling code's main region has no national
// prefix that the digits after the calling code start with, the library
// would take those digits as they are. Other numbers go through the
// library. Safe for concurrent use.
func Parse(raw, defaultRegion string) (e164, region string, valid bool, err error) {
	if cc, nsn, ok := plain(raw); ok {
		region, valid = regionOf(cc, nsn)
		return raw, region, valid, nil
	}
	n, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil {
		return "", "", false, err
	}
	region, valid = Region(n)
	return phonenumbers.Format(n, phonenumbers.E164), region, valid, nil
}

// Limits of the fast path, within the library's: calling codes have 1 to
// 3 digits, national significant numbers 2 to 17.
const (
	maxCallingCode = 3
	minNSN, maxNSN = 2, 17
)

// plain splits raw into its calling code and national significant number
// when raw is "+" and digits that the library would split the same way
// and keep unchanged: a known calling code (the shortest prefix that is
// one, as the library tries them), then 2 to 17 digits that do not start
// with 0 (the library's Italian leading zero) nor with the main region's
// national prefix for parsing (which the library may strip). ok is false
// for anything else, which then goes through the library.
func plain(raw string) (cc int32, nsn string, ok bool) {
	if len(raw) < 1+1+minNSN || len(raw) > 1+maxCallingCode+maxNSN || raw[0] != '+' || raw[1] == '0' {
		return 0, "", false
	}
	for i := 1; i < len(raw); i++ {
		if raw[i] < '0' || raw[i] > '9' {
			return 0, "", false
		}
	}
	var regions []string
	for i := 1; i <= maxCallingCode; i++ {
		cc = cc*10 + int32(raw[i]-'0')
		if regions = phonenumbers.GetRegionCodesForCountryCode(int(cc)); len(regions) > 0 {
			nsn = raw[1+i:]
			break
		}
	}
	if len(regions) == 0 || len(nsn) < minNSN || len(nsn) > maxNSN || nsn[0] == '0' {
		return 0, "", false
	}
	main := load().main(cc, regions[0])
	if main == nil || (main.prefix != nil && main.prefix.MatchString(nsn)) {
		return 0, "", false
	}
	return cc, nsn, true
}
