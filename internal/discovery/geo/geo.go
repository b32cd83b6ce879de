// Package geo evaluates geofences: circles and polygons on the Earth's
// surface, including ones that cross the antimeridian or contain a pole.
//
// Circles are exact on a spherical Earth: a point is inside when its
// great-circle distance from the center is at most the radius.
//
// Polygons use a planar (equirectangular) approximation: each edge is a
// straight line in latitude/longitude, which is close to a rhumb line rather
// than a great circle. Over the city or site scale fences are meant for, the
// difference is negligible; over thousands of kilometres it is not, and such
// fences should be drawn with more vertices. Longitudes are circular: every
// edge goes the short way round (less than 180° of longitude), so an edge
// from longitude 170 to -170 crosses the antimeridian, and points are
// compared with each edge modulo 360°.
//
// Poles: a polygon whose edges, walked in order, go once round the globe
// (their longitude changes add up to ±360°) is a ring around a pole. It
// encloses the pole on the side of its vertices' mean latitude: the north
// pole when the mean is positive, the south pole when negative (a mean of
// exactly 0 is refused as ambiguous). The ring may be given in either
// direction. A polygon whose longitude changes add up to 0 encloses neither
// pole. A vertex at latitude ±90 is the pole itself; its longitude only
// shapes the neighbouring edges, so [(0,0), (0,90), (90,90), (90,0)] is the
// octant between the equator, meridians 0 and 90, and the north pole.
//
// Boundaries are inside: a point on a circle, or within [BoundaryTolerance]
// degrees of a polygon's vertex or edge, is contained.
package geo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Point is a position in decimal degrees (WGS 84).
type Point struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Circle is every point within RadiusMeters of Center (great-circle distance).
type Circle struct {
	Center       Point   `json:"center"`
	RadiusMeters float64 `json:"radiusMeters"`
}

// Fence is a geofence: exactly one of Circle or Polygon is set. A polygon is
// its vertices in order (not closed: the last vertex connects to the first).
type Fence struct {
	Circle  *Circle `json:"circle,omitempty"`
	Polygon []Point `json:"polygon,omitempty"`
}

const (
	// EarthRadiusMeters is the mean Earth radius used by [Distance].
	EarthRadiusMeters = 6_371_008.8

	// MaxRadiusMeters is the largest circle radius: half the circumference
	// of a 6,371 km sphere. On the slightly larger sphere of [Distance] such
	// a circle covers all the globe but a cap of about 27 m radius round
	// its center's antipode.
	MaxRadiusMeters = 20_015_087

	// MinPolygonVertices is the fewest vertices a polygon may have.
	MinPolygonVertices = 3
	// MaxPolygonVertices is the most vertices a polygon may have.
	MaxPolygonVertices = 1000

	// BoundaryTolerance, in degrees (about 0.1 mm), is how close to a
	// polygon's vertex or edge a point counts as on it, and how close two
	// consecutive vertices may be before they count as the same.
	BoundaryTolerance = 1e-9
)

// degenerateRatio: a polygon whose area is at most this fraction of the
// square of its extent is degenerate (collinear within rounding error).
const degenerateRatio = 1e-10

// Valid reports whether p is a usable position: finite, latitude in
// [-90, 90] and longitude in [-180, 180].
func (p Point) Valid() error {
	switch {
	case math.IsNaN(p.Lat) || math.IsInf(p.Lat, 0):
		return fmt.Errorf("latitude %s is not a finite number", num(p.Lat))
	case math.IsNaN(p.Lon) || math.IsInf(p.Lon, 0):
		return fmt.Errorf("longitude %s is not a finite number", num(p.Lon))
	case p.Lat < -90 || p.Lat > 90:
		return fmt.Errorf("latitude %s out of range [-90, 90]", num(p.Lat))
	case p.Lon < -180 || p.Lon > 180:
		return fmt.Errorf("longitude %s out of range [-180, 180]", num(p.Lon))
	}
	return nil
}

// Distance is the great-circle distance between a and b in meters on a
// sphere of radius [EarthRadiusMeters] (haversine formula). It computes both
// the haversine and its complement as sums of squares, so it keeps full
// precision for nearby points and near-antipodal ones alike. The result is
// NaN if a point is not finite.
func Distance(a, b Point) float64 {
	const rad = math.Pi / 180
	phi1, phi2 := a.Lat*rad, b.Lat*rad
	sinDPhi, cosDPhi := math.Sincos((phi2 - phi1) / 2)
	sinSPhi, cosSPhi := math.Sincos((phi2 + phi1) / 2)
	sinDLam, cosDLam := math.Sincos((b.Lon - a.Lon) * rad / 2)
	// h = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2), rewritten with
	// cos φ1 cos φ2 = cos²(Σφ/2) − sin²(Δφ/2); 1−h follows symmetrically.
	h := sq(sinDPhi*cosDLam) + sq(cosSPhi*sinDLam)
	k := sq(cosDPhi*cosDLam) + sq(sinSPhi*sinDLam)
	return 2 * EarthRadiusMeters * math.Atan2(math.Sqrt(h), math.Sqrt(k))
}

func sq(x float64) float64 { return x * x }

// num formats x for error messages: plain decimals, exponents only for
// very large numbers.
func num(x float64) string {
	if math.Abs(x) < 1e15 {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// Validate reports whether f is a usable fence: exactly one of Circle and
// Polygon set; a circle with a valid center and a radius in
// (0, [MaxRadiusMeters]]; a polygon of [MinPolygonVertices] to
// [MaxPolygonVertices] valid vertices, no two consecutive ones (nor the last
// and the first) the same, no edge spanning exactly 180° of longitude (its
// direction would be ambiguous), a nonzero area, and going round the globe
// at most once (see the package comment for poles). Errors name the field,
// e.g. "polygon[3]: latitude 91 out of range [-90, 90]".
func (f Fence) Validate() error {
	_, err := f.check()
	return err
}

// Contains reports whether p lies inside f, boundary included (see the
// package comment for the rules). It is false when p or f is invalid: a
// fence that fails [Fence.Validate] contains nothing.
func (f Fence) Contains(p Point) bool {
	if p.Valid() != nil {
		return false
	}
	pole, err := f.check()
	if err != nil {
		return false
	}
	if f.Circle != nil {
		return Distance(f.Circle.Center, p) <= f.Circle.RadiusMeters
	}
	return polygonContains(f.Polygon, pole, p)
}

// check validates f and, for a polygon, reports which pole it encloses:
// +1 north, -1 south, 0 neither.
func (f Fence) check() (pole int, err error) {
	switch {
	case f.Circle != nil && len(f.Polygon) > 0:
		return 0, errors.New("both circle and polygon are set; want exactly one")
	case f.Circle != nil:
		return 0, f.Circle.check()
	case len(f.Polygon) > 0:
		return checkPolygon(f.Polygon)
	}
	return 0, errors.New("neither circle nor polygon is set; want exactly one")
}

func (c *Circle) check() error {
	if err := c.Center.Valid(); err != nil {
		return fmt.Errorf("circle.center: %w", err)
	}
	if r := c.RadiusMeters; !(r > 0 && r <= MaxRadiusMeters) {
		return fmt.Errorf("circle.radiusMeters: %s out of range (0, %d]", num(r), MaxRadiusMeters)
	}
	return nil
}

// lonDelta is b−a for longitudes in [-180, 180], taken the short way round:
// the result is in (-180, 180].
func lonDelta(a, b float64) float64 {
	d := b - a
	if d > 180 {
		d -= 360
	} else if d <= -180 {
		d += 360
	}
	return d
}

// checkPolygon validates poly. It walks the edges accumulating unwrapped
// longitudes x (relative to the first vertex) and latitudes y, for the
// winding round the globe and the shoelace area.
func checkPolygon(poly []Point) (pole int, err error) {
	n := len(poly)
	if n < MinPolygonVertices || n > MaxPolygonVertices {
		return 0, fmt.Errorf("polygon: %d vertices; want %d to %d", n, MinPolygonVertices, MaxPolygonVertices)
	}
	for i, v := range poly {
		if err := v.Valid(); err != nil {
			return 0, fmt.Errorf("polygon[%d]: %w", i, err)
		}
	}
	var (
		x, y, minX, maxX float64 // current vertex, relative to poly[0]
		minY, maxY       float64
		sumLat, area2    float64
	)
	for i, a := range poly {
		j := (i + 1) % n
		b := poly[j]
		dx, dy := lonDelta(a.Lon, b.Lon), b.Lat-a.Lat
		if math.Abs(dx) <= BoundaryTolerance && math.Abs(dy) <= BoundaryTolerance {
			return 0, fmt.Errorf("polygon[%d]: same point as polygon[%d]", j, i)
		}
		if 180-math.Abs(dx) <= BoundaryTolerance {
			return 0, fmt.Errorf("polygon[%d]: edge to polygon[%d] spans 180° of longitude, so its direction is ambiguous; add a vertex between them", i, j)
		}
		nx, ny := x+dx, y+dy
		if j == 0 {
			ny = 0 // back at the first vertex's latitude, exactly
		}
		area2 += x*ny - nx*y
		x, y = nx, ny
		minX, maxX = math.Min(minX, x), math.Max(maxX, x)
		minY, maxY = math.Min(minY, y), math.Max(maxY, y)
		sumLat += a.Lat
	}
	// x is now the total change of longitude round the polygon: 360 times
	// the number of turns round the globe.
	turns := math.Round(x / 360)
	switch {
	case math.Abs(turns) > 1:
		return 0, fmt.Errorf("polygon: goes round the globe %v times; want at most once", math.Abs(turns))
	case turns == 0 && maxX-minX > 360+BoundaryTolerance:
		return 0, errors.New("polygon: spans more than 360° of longitude without going round a pole, so it overlaps itself")
	case turns != 0:
		mean := sumLat / float64(n)
		if math.Abs(mean) <= BoundaryTolerance {
			return 0, errors.New("polygon: goes round the globe with a mean latitude of 0, so which pole it encloses is ambiguous")
		}
		pole = 1
		if mean < 0 {
			pole = -1
		}
		// Close the ring through the pole: up (or down) the last
		// meridian, along the pole line, back down the first.
		py := float64(pole)*90 - poly[0].Lat
		area2 += x*py + x*py
		minY, maxY = math.Min(minY, py), math.Max(maxY, py)
	}
	extent := math.Max(maxX-minX, maxY-minY)
	if math.Abs(area2)/2 <= degenerateRatio*extent*extent {
		return 0, errors.New("polygon: zero area (its vertices are collinear or it folds onto itself)")
	}
	return pole, nil
}

// polygonContains is the point-in-polygon test for a validated polygon that
// encloses pole (+1 north, -1 south, 0 neither) and a valid point. It casts
// a ray from p due north along p's meridian to the north pole and counts the
// edges it crosses: an odd count means p and the north pole are on opposite
// sides of the boundary.
func polygonContains(poly []Point, pole int, p Point) bool {
	if 90-math.Abs(p.Lat) <= BoundaryTolerance {
		// p is a pole: on the boundary if a vertex is that pole, else
		// inside exactly when the polygon encloses it.
		side := 1
		if p.Lat < 0 {
			side = -1
		}
		for _, v := range poly {
			if 90-float64(side)*v.Lat <= BoundaryTolerance {
				return true
			}
		}
		return pole == side
	}
	plon := canonLon(p.Lon)
	odd := false
	for i, a := range poly {
		b := poly[(i+1)%len(poly)]
		alon := canonLon(a.Lon)
		// Edge from (0, 0) to (dx, dy), point at (px, py), all relative to
		// a, longitudes unwrapped the short way round.
		dx, dy := lonDelta(alon, canonLon(b.Lon)), b.Lat-a.Lat
		px, py := lonDelta(alon, plon), p.Lat-a.Lat
		if onSegment(px, py, dx, dy) {
			return true
		}
		// Half-open in longitude so a ray through a vertex counts once.
		if (px < 0) != (px < dx) {
			if lat := a.Lat + dy*(px/dx); lat > p.Lat {
				odd = !odd
			}
		}
	}
	if pole == 1 {
		return !odd
	}
	return odd
}

// canonLon maps -180 to 180 so a meridian has one representation and
// longitude differences to it are computed identically for every edge.
func canonLon(lon float64) float64 {
	if lon == -180 {
		return 180
	}
	return lon
}

// onSegment reports whether (px, py) is within BoundaryTolerance of the
// segment from the origin to (dx, dy), which is not a single point.
func onSegment(px, py, dx, dy float64) bool {
	t := (px*dx + py*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	ex, ey := px-t*dx, py-t*dy
	return ex*ex+ey*ey <= BoundaryTolerance*BoundaryTolerance
}
