package mp3

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDCT3MatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		var a [32]float32
		for i := range a {
			a[i] = float32(r.NormFloat64())
		}
		want := make([]float64, 32)
		for k := range 32 {
			for m := range 32 {
				want[k] += float64(a[m]) * math.Cos(float64((2*k+1)*m)*math.Pi/64)
			}
		}
		dct3(&a)
		for k := range 32 {
			if math.Abs(float64(a[k])-want[k]) > 1e-4*(1+math.Abs(want[k])) {
				t.Fatalf("dct3[%d] = %v, want %v", k, a[k], want[k])
			}
		}
	}
}

func TestDCT4MatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		var u, got [18]float32
		for i := range u {
			u[i] = float32(r.NormFloat64())
		}
		dct4(&u, &got)
		for k := range 18 {
			var want float64
			for n := range 18 {
				want += float64(u[n]) * math.Cos(math.Pi/18*(float64(n)+0.5)*(float64(k)+0.5)) / 9
			}
			if math.Abs(float64(got[k])-want) > 1e-5*(1+math.Abs(want)) {
				t.Fatalf("dct4[%d] = %v, want %v", k, got[k], want)
			}
		}
	}
}
