// Command gentables derives recorder/mp3's encoding tables from the
// decoding tables in github.com/hajimehoshi/go-mp3.
//
// The Huffman tables of ISO/IEC 11172-3 Annex B (Table 3-B.7) are held by
// go-mp3 as decoding trees; walking every path of a tree yields each code
// word and its length, which is what an encoder needs. The synthesis window
// D[i] (Table 3-B.3) yields the analysis window C[i] = D[i]/32 (Table 3-C.1).
// Deriving both from the decoder we test against means the encoder cannot
// disagree with it.
//
//	go run ./internal/gentables -o tables_gen.go
package main
