package geo

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestPointValid(t *testing.T) {
	tests := []struct {
		p    Point
		want string
	}{
		{Point{0, 0}, ""},
		{Point{90, 180}, ""},
		{Point{-90, -180}, ""},
		{Point{91, 0}, "latitude 91 out of range [-90, 90]"},
		{Point{-90.000001, 0}, "latitude -90.000001 out of range [-90, 90]"},
		{Point{0, 180.5}, "longitude 180.5 out of range [-180, 180]"},
		{Point{0, -181}, "longitude -181 out of range [-180, 180]"},
		{Point{math.NaN(), 0}, "latitude NaN is not a finite number"},
		{Point{0, math.Inf(1)}, "longitude +Inf is not a finite number"},
		{Point{math.Inf(-1), 0}, "latitude -Inf is not a finite number"},
		{Point{0, 1e300}, "longitude 1e+300 out of range [-180, 180]"},
		{Point{-1e-7 - 90, 0}, "latitude -90.0000001 out of range [-90, 90]"},
	}
	for _, tt := range tests {
		if got := errText(tt.p.Valid()); got != tt.want {
			t.Errorf("%+v.Valid() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// north returns p moved meters due north along its meridian.
func north(p Point, meters float64) Point {
	return Point{Lat: p.Lat + meters/EarthRadiusMeters*180/math.Pi, Lon: p.Lon}
}

func TestDistance(t *testing.T) {
	const r = EarthRadiusMeters
	tests := []struct {
		name string
		a, b Point
		want float64
		tol  float64 // meters
	}{
		{"same point", Point{48.1, 11.5}, Point{48.1, 11.5}, 0, 0},
		{"one degree of meridian", Point{0, 0}, Point{1, 0}, r * math.Pi / 180, 1e-6},
		{"one degree of equator", Point{0, 10}, Point{0, 11}, r * math.Pi / 180, 1e-6},
		{"equator to pole", Point{0, 0}, Point{90, 0}, r * math.Pi / 2, 1e-6},
		{"pole to pole", Point{90, 0}, Point{-90, 0}, r * math.Pi, 1e-6},
		{"pole, any longitude", Point{90, 0}, Point{90, 123}, 0, 1e-6},
		{"across the antimeridian", Point{0, 179.9}, Point{0, -179.9}, r * 0.2 * math.Pi / 180, 1e-6},
		{"antipodes", Point{0, 0}, Point{0, 180}, r * math.Pi, 1e-6},
		{"antipodes off the equator", Point{33.3, -40}, Point{-33.3, 140}, r * math.Pi, 1e-6},
		// 1 µdegree short of antipodal along the equator: the naive
		// 2·asin(√h) loses about half its digits here.
		{"near antipodes", Point{0, 0}, Point{0, 180 - 1e-6}, r * (180 - 1e-6) * math.Pi / 180, 1e-6},
		{"near antipodes across a pole", Point{89.9999999, 0}, Point{-89.9999998, 180}, r * (math.Pi - 1e-7*math.Pi/180), 1e-6},
		{"moved north 1 km", Point{48.1, 11.5}, north(Point{48.1, 11.5}, 1000), 1000, 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Distance(tt.a, tt.b)
			if math.Abs(got-tt.want) > tt.tol {
				t.Errorf("Distance(%v, %v) = %.9f, want %.9f ± %g", tt.a, tt.b, got, tt.want, tt.tol)
			}
			if back := Distance(tt.b, tt.a); back != got {
				t.Errorf("Distance is not symmetric: %.9f and %.9f", got, back)
			}
		})
	}
}

func poly(coords ...float64) []Point {
	ps := make([]Point, len(coords)/2)
	for i := range ps {
		ps[i] = Point{Lat: coords[2*i], Lon: coords[2*i+1]}
	}
	return ps
}

func TestFenceValidate(t *testing.T) {
	square := poly(0, 0, 0, 1, 1, 1, 1, 0)
	many := make([]Point, MaxPolygonVertices+1)
	for i := range many {
		a := 2 * math.Pi * float64(i) / float64(len(many))
		many[i] = Point{Lat: math.Sin(a), Lon: math.Cos(a)}
	}
	tests := []struct {
		name string
		f    Fence
		want string
	}{
		{"circle", Fence{Circle: &Circle{Point{48.1, 11.5}, 500}}, ""},
		{"largest circle", Fence{Circle: &Circle{Point{0, 0}, MaxRadiusMeters}}, ""},
		{"square", Fence{Polygon: square}, ""},
		{"triangle", Fence{Polygon: poly(0, 0, 0, 1, 1, 0)}, ""},
		{"largest polygon", Fence{Polygon: many[:MaxPolygonVertices]}, ""},
		{"antimeridian polygon", Fence{Polygon: poly(-10, 170, -10, -170, 10, -170, 10, 170)}, ""},
		{"ring round the north pole", Fence{Polygon: poly(80, 0, 80, 90, 80, 180, 80, -90)}, ""},
		{"octant touching the pole", Fence{Polygon: poly(0, 0, 0, 90, 90, 90, 90, 0)}, ""},

		{"empty", Fence{}, "neither circle nor polygon is set; want exactly one"},
		{"empty polygon", Fence{Polygon: []Point{}}, "neither circle nor polygon is set; want exactly one"},
		{"both", Fence{Circle: &Circle{Point{0, 0}, 1}, Polygon: square}, "both circle and polygon are set; want exactly one"},
		{"zero radius", Fence{Circle: &Circle{Point{0, 0}, 0}}, "circle.radiusMeters: 0 out of range (0, 20015087]"},
		{"negative radius", Fence{Circle: &Circle{Point{0, 0}, -5}}, "circle.radiusMeters: -5 out of range (0, 20015087]"},
		{"NaN radius", Fence{Circle: &Circle{Point{0, 0}, math.NaN()}}, "circle.radiusMeters: NaN out of range (0, 20015087]"},
		{"radius too large", Fence{Circle: &Circle{Point{0, 0}, 20015088}}, "circle.radiusMeters: 20015088 out of range (0, 20015087]"},
		{"bad center", Fence{Circle: &Circle{Point{0, 200}, 10}}, "circle.center: longitude 200 out of range [-180, 180]"},
		{"two vertices", Fence{Polygon: poly(0, 0, 1, 1)}, "polygon: 2 vertices; want 3 to 1000"},
		{"too many vertices", Fence{Polygon: many}, "polygon: 1001 vertices; want 3 to 1000"},
		{"bad vertex", Fence{Polygon: poly(0, 0, 0, 1, 1, 1, 91, 0)}, "polygon[3]: latitude 91 out of range [-90, 90]"},
		{"NaN vertex", Fence{Polygon: poly(0, 0, 0, math.NaN(), 1, 1)}, "polygon[1]: longitude NaN is not a finite number"},
		{"repeated vertex", Fence{Polygon: poly(0, 0, 0, 1, 0, 1, 1, 1)}, "polygon[2]: same point as polygon[1]"},
		{"closed ring", Fence{Polygon: poly(0, 0, 0, 1, 1, 1, 0, 0)}, "polygon[0]: same point as polygon[3]"},
		{"repeated across the antimeridian", Fence{Polygon: poly(0, 170, 0, 180, 0, -180, 10, 175)}, "polygon[2]: same point as polygon[1]"},
		{"collinear", Fence{Polygon: poly(0, 0, 1, 1, 2, 2)}, "polygon: zero area (its vertices are collinear or it folds onto itself)"},
		{"folded", Fence{Polygon: poly(0, 0, 1, 1, 2, 2, 1, 1)}, "polygon: zero area (its vertices are collinear or it folds onto itself)"},
		{"half-way round edge", Fence{Polygon: poly(0, 0, 10, 90, 0, 180)}, "polygon[2]: edge to polygon[0] spans 180° of longitude, so its direction is ambiguous; add a vertex between them"},
		{"ring on the equator", Fence{Polygon: poly(10, 0, -10, 60, 10, 120, -10, 180, 10, -120, -10, -60)}, "polygon: goes round the globe with a mean latitude of 0, so which pole it encloses is ambiguous"},
		{"twice round the globe", Fence{Polygon: poly(80, 0, 80, 120, 80, -120, 81, 0, 81, 120, 81, -120)}, "polygon: goes round the globe 2 times; want at most once"},
		{"flat ring at the pole", Fence{Polygon: poly(90, 0, 90, 120, 90, -120)}, "polygon: zero area (its vertices are collinear or it folds onto itself)"},
		{"overlapping itself", Fence{Polygon: poly(0, 0, 0, 120, 0, -120, 0, 0.5, 1, 0.5, 1, -120, 1, 120, 1, 0)}, "polygon: spans more than 360° of longitude without going round a pole, so it overlaps itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, errText(tt.f.Validate())); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCircleContains(t *testing.T) {
	munich := Point{48.137, 11.575}
	edge := north(munich, 1000)
	exact := Distance(munich, edge) // the radius that puts edge on the boundary
	tests := []struct {
		name string
		c    Circle
		p    Point
		want bool
	}{
		{"center", Circle{munich, 1000}, munich, true},
		{"on the boundary", Circle{munich, exact}, edge, true},
		{"just inside", Circle{munich, 1000}, north(munich, 999.99), true},
		{"just outside", Circle{munich, 1000}, north(munich, 1000.01), false},
		{"just outside, south", Circle{munich, 1000}, north(munich, -1000.01), false},
		{"antimeridian, inside", Circle{Point{0, 179.9}, 25_000}, Point{0, -179.9}, true},
		{"antimeridian, outside", Circle{Point{0, 179.9}, 25_000}, Point{0, -179.7}, false},
		{"antimeridian, at -180", Circle{Point{10, 179.99}, 2_000}, Point{10, -180}, true},
		{"north pole, near", Circle{Point{90, 0}, 100_000}, Point{89.5, 123}, true},
		{"north pole, other side", Circle{Point{90, 0}, 100_000}, Point{89.5, -57}, true},
		{"north pole, itself at another longitude", Circle{Point{90, 0}, 1}, Point{90, 77}, true},
		{"north pole, too far", Circle{Point{90, 0}, 100_000}, Point{89, 0}, false},
		{"covering the south pole", Circle{Point{-89.9, 0}, 50_000}, Point{-89.9, 180}, true},
		{"south pole, opposite hemisphere", Circle{Point{-89.9, 0}, 50_000}, Point{89.9, 0}, false},
		{"largest, near the antipode", Circle{Point{0, 0}, MaxRadiusMeters}, Point{0.001, 180}, true},
		{"largest, at the antipode", Circle{Point{0, 0}, MaxRadiusMeters}, Point{0, 180}, false},
		{"invalid point", Circle{munich, 1000}, Point{math.NaN(), 11.575}, false},
		{"invalid circle", Circle{munich, -1}, munich, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			if got := (Fence{Circle: &c}).Contains(tt.p); got != tt.want {
				t.Errorf("Contains(%v) = %v, want %v (distance %.6f m, radius %.6f m)",
					tt.p, got, tt.want, Distance(c.Center, tt.p), c.RadiusMeters)
			}
		})
	}
}

func TestPolygonContains(t *testing.T) {
	square := poly(0, 0, 0, 1, 1, 1, 1, 0)
	// A "C" open to the east: the notch is lat 1..2, lon 1..3.
	cShape := poly(0, 0, 0, 3, 1, 3, 1, 1, 2, 1, 2, 3, 3, 3, 3, 0)
	diamond := poly(0, 1, 1, 2, 2, 1, 1, 0)
	fiji := poly(-10, 170, -10, -170, 10, -170, 10, 170)
	northRing := poly(80, 0, 80, 90, 80, 180, 80, -90)
	southRing := poly(-70, 0, -75, 120, -65, -120)
	southRingReversed := poly(-65, -120, -75, 120, -70, 0)
	// Round the north pole, crossing the antimeridian, with a dent
	// south to 60° at longitude 0 and a vertex at longitude -180.
	dented := poly(75, -180, 75, -90, 75, -10, 60, 0, 75, 10, 75, 90)
	octant := poly(0, 0, 0, 90, 90, 90, 90, 0)

	type check struct {
		p    Point
		want bool
	}
	tests := []struct {
		name   string
		poly   []Point
		checks []check
	}{
		{"square", square, []check{
			{Point{0.5, 0.5}, true},
			{Point{0, 0}, true},        // vertex
			{Point{1, 1}, true},        // vertex
			{Point{0, 0.5}, true},      // edge
			{Point{0.5, 1}, true},      // edge
			{Point{0.25, 0}, true},     // edge
			{Point{1, 0.75}, true},     // edge
			{Point{-1e-10, 0.5}, true}, // within tolerance of an edge
			{Point{-1e-6, 0.5}, false},
			{Point{0.5, 1.000001}, false},
			{Point{1.5, 0.5}, false},
			{Point{-0.5, 0.5}, false}, // ray crosses both horizontal edges
			{Point{0.5, 180}, false},
		}},
		{"concave", cShape, []check{
			{Point{0.5, 2}, true},   // lower arm
			{Point{2.5, 2}, true},   // upper arm
			{Point{1.5, 0.5}, true}, // spine
			{Point{1.5, 2}, false},  // in the notch
			{Point{1.5, 1}, true},   // notch's inner edge
			{Point{1, 2}, true},     // notch's lower edge
			{Point{1.5, 3}, false},  // mouth of the notch
			{Point{3.5, 2}, false},
		}},
		{"diamond, rays through vertices", diamond, []check{
			{Point{0.5, 1}, true},   // ray passes through the top vertex
			{Point{-0.5, 1}, false}, // through both the bottom and top vertices
			{Point{1, 0.5}, true},
			{Point{1, -0.5}, false}, // level with the left vertex
			{Point{0.5, 0.5}, true}, // on an edge
			{Point{0.25, 0.5}, false},
		}},
		{"antimeridian", fiji, []check{
			{Point{0, 180}, true},
			{Point{0, -180}, true},
			{Point{0, 179}, true},
			{Point{5, 175}, true},
			{Point{0, -175}, true},
			{Point{-10, 180}, true}, // on an edge, at the antimeridian
			{Point{10, -170}, true}, // vertex
			{Point{0, -170}, true},  // edge
			{Point{0, 169.9}, false},
			{Point{0, -169.9}, false},
			{Point{0, 0}, false},
			{Point{0, 160}, false},
			{Point{11, 180}, false},
			{Point{-90, 0}, false},
		}},
		{"north pole ring", northRing, []check{
			{Point{85, 45}, true},
			{Point{90, 0}, true},
			{Point{90, -123}, true},
			{Point{89.99, -123}, true},
			{Point{80, 45}, true}, // edge (a parallel in this model)
			{Point{80, 180}, true},
			{Point{79, 45}, false},
			{Point{0, 0}, false},
			{Point{-90, 0}, false},
			{Point{-85, 45}, false},
		}},
		{"south pole ring", southRing, []check{
			{Point{-80, 60}, true},
			{Point{-90, 0}, true},
			{Point{-71, 0}, true},
			{Point{-70, 0}, true}, // vertex
			{Point{-69, 0}, false},
			{Point{-60, 180}, false},
			{Point{90, 0}, false},
			{Point{0, 0}, false},
		}},
		{"south pole ring, reversed", southRingReversed, []check{
			{Point{-80, 60}, true},
			{Point{-90, 0}, true},
			{Point{-71, 0}, true},
			{Point{-69, 0}, false},
			{Point{90, 0}, false},
		}},
		{"dented north pole ring across the antimeridian", dented, []check{
			{Point{70, 0}, true},   // in the dent
			{Point{70, 5}, true},   // in the dent
			{Point{70, 20}, false}, // beside it
			{Point{76, 180}, true}, // antimeridian
			{Point{76, -180}, true},
			{Point{74, 180}, false},
			{Point{75, -180}, true}, // vertex
			{Point{75, 180}, true},  // the same vertex
			{Point{60, 0}, true},    // the dent's tip
			{Point{59.9, 0}, false},
			{Point{90, 0}, true},
		}},
		{"octant touching the pole", octant, []check{
			{Point{45, 45}, true},
			{Point{90, 10}, true},   // the pole is a vertex
			{Point{90, -170}, true}, // ... at any longitude
			{Point{89.9, 45}, true},
			{Point{45, 135}, false},
			{Point{45, -45}, false},
			{Point{-45, 45}, false},
			{Point{0, 45}, true}, // edge on the equator
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Fence{Polygon: tt.poly}
			if err := f.Validate(); err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, c := range tt.checks {
				want = append(want, fmt.Sprintf("%v %v", c.p, c.want))
				got = append(got, fmt.Sprintf("%v %v", c.p, f.Contains(c.p)))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Contains (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLongitudeShift: moving a fence and a point by the same longitude,
// across the antimeridian or not, does not change the answer. The grid and
// shifts are multiples of 0.25°, exact in binary, so boundary points stay
// exactly on the boundary.
func TestLongitudeShift(t *testing.T) {
	shift := func(ps []Point, by float64) []Point {
		out := make([]Point, len(ps))
		for i, p := range ps {
			out[i] = Point{p.Lat, shiftLon(p.Lon, by)}
		}
		return out
	}
	polys := map[string][]Point{
		"concave": poly(0, 0, 0, 3, 1, 3, 1, 1, 2, 1, 2, 3, 3, 3, 3, 0),
		"diamond": poly(0, 1, 1, 2, 2, 1, 1, 0),
		"ring":    poly(75, -180, 75, -90, 75, -10, 60, 0, 75, 10, 75, 90),
		"octant":  poly(0, 0, 0, 90, 90, 90, 90, 0),
	}
	for name, base := range polys {
		for _, by := range []float64{178.5, -179.75, 180, 359.75} {
			f0, f1 := Fence{Polygon: base}, Fence{Polygon: shift(base, by)}
			if err := f1.Validate(); err != nil {
				t.Fatalf("%s shifted by %v: %v", name, by, err)
			}
			for lat := -1.0; lat <= 91; lat += 0.5 {
				for lon := -5.0; lon <= 100; lon += 0.75 {
					p0 := Point{math.Min(lat, 90), lon}
					p1 := Point{p0.Lat, shiftLon(lon, by)}
					if a, b := f0.Contains(p0), f1.Contains(p1); a != b {
						t.Fatalf("%s: Contains(%v) = %v, but shifted by %v Contains(%v) = %v", name, p0, a, by, p1, b)
					}
				}
			}
		}
	}
}

func shiftLon(lon, by float64) float64 {
	lon += by
	for lon > 180 {
		lon -= 360
	}
	for lon < -180 {
		lon += 360
	}
	return lon
}

func TestContainsRefusesInvalid(t *testing.T) {
	square := poly(0, 0, 0, 1, 1, 1, 1, 0)
	tests := []struct {
		name string
		f    Fence
		p    Point
	}{
		{"NaN point", Fence{Polygon: square}, Point{math.NaN(), 0.5}},
		{"Inf point", Fence{Polygon: square}, Point{0.5, math.Inf(1)}},
		{"out of range point", Fence{Polygon: square}, Point{0.5, 360.5}},
		{"empty fence", Fence{}, Point{0, 0}},
		{"invalid polygon", Fence{Polygon: poly(0, 0, 0, 1, 0, 2)}, Point{0, 1}},
		{"both set", Fence{Circle: &Circle{Point{0, 0}, 1000}, Polygon: square}, Point{0, 0}},
	}
	for _, tt := range tests {
		if tt.f.Contains(tt.p) {
			t.Errorf("%s: Contains(%v) = true, want false", tt.name, tt.p)
		}
	}
}

// FuzzContains checks that Contains never panics, that a valid polygon
// contains its vertices and the midpoints of its edges, that a valid circle
// contains its center, and that invalid fences contain nothing. Each input
// is tried as given (mostly invalid) and folded into coordinate range.
func FuzzContains(f *testing.F) {
	f.Add(0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, uint8(4), 0.5, 0.5, 1000.0)
	f.Add(-10.0, 170.0, -10.0, -170.0, 10.0, -170.0, 10.0, 170.0, uint8(4), 0.0, 180.0, 1e5)
	f.Add(80.0, 0.0, 80.0, 90.0, 80.0, 180.0, 80.0, -90.0, uint8(4), 90.0, 0.0, 1.0)
	f.Add(-70.0, 0.0, -75.0, 120.0, -65.0, -120.0, 0.0, 0.0, uint8(3), -90.0, 45.0, 2e7)
	f.Add(0.0, 0.0, 0.0, 90.0, 90.0, 90.0, 90.0, 0.0, uint8(4), 90.0, -180.0, 5.0)
	f.Fuzz(func(t *testing.T, lat0, lon0, lat1, lon1, lat2, lon2, lat3, lon3 float64, n uint8, plat, plon, radius float64) {
		vs := []Point{{lat0, lon0}, {lat1, lon1}, {lat2, lon2}, {lat3, lon3}}[:3+int(n%2)]
		p := Point{plat, plon}
		checkFences(t, vs, p, radius)
		for i := range vs {
			vs[i] = fold(vs[i])
		}
		checkFences(t, vs, fold(p), radius)
	})
}

// fold maps finite coordinates into range.
func fold(p Point) Point {
	return Point{Lat: math.Mod(p.Lat, 90), Lon: math.Mod(p.Lon, 180)}
}

func checkFences(t *testing.T, vs []Point, p Point, radius float64) {
	t.Helper()
	fence := Fence{Polygon: vs}
	got := fence.Contains(p) // must not panic
	if fence.Validate() != nil {
		if got {
			t.Fatalf("invalid polygon %v contains %v", vs, p)
		}
	} else {
		for i, a := range vs {
			if !fence.Contains(a) {
				t.Fatalf("polygon %v does not contain its vertex %d", vs, i)
			}
			b := vs[(i+1)%len(vs)]
			mid := Point{(a.Lat + b.Lat) / 2, a.Lon + lonDelta(a.Lon, b.Lon)/2}
			if mid.Lon > 180 {
				mid.Lon -= 360
			} else if mid.Lon < -180 {
				mid.Lon += 360
			}
			if !fence.Contains(mid) {
				t.Fatalf("polygon %v does not contain %v, the midpoint of edge %d", vs, mid, i)
			}
		}
	}
	circle := Fence{Circle: &Circle{Center: vs[0], RadiusMeters: radius}}
	got = circle.Contains(p) // must not panic
	if circle.Validate() != nil {
		if got {
			t.Fatalf("invalid circle %+v contains %v", *circle.Circle, p)
		}
	} else if !circle.Contains(vs[0]) {
		t.Fatalf("circle %+v does not contain its center", *circle.Circle)
	}
}

func BenchmarkContains(b *testing.B) {
	decagon := make([]Point, 10)
	for i := range decagon {
		a := 2 * math.Pi * float64(i) / 10
		decagon[i] = Point{Lat: 48.137 + 0.01*math.Sin(a), Lon: 11.575 + 0.015*math.Cos(a)}
	}
	fences := []struct {
		name string
		f    Fence
	}{
		{"polygon10", Fence{Polygon: decagon}},
		{"circle", Fence{Circle: &Circle{Point{48.137, 11.575}, 1000}}},
	}
	p := Point{48.139, 11.571}
	for _, fc := range fences {
		b.Run(fc.name, func(b *testing.B) {
			if !fc.f.Contains(p) {
				b.Fatal("benchmark point is outside")
			}
			for b.Loop() {
				fc.f.Contains(p)
			}
		})
	}
}
