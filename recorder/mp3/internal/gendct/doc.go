// Command gendct writes recorder/mp3's 32-point DCT-III as straight-line
// code: it runs the even/odd recursion of dct.go symbolically and prints
// every addition and multiplication in order, with the constants inlined,
// so the polyphase filterbank's matrixing needs no loops, slices or
// bounds checks.
//
//	go run ./internal/gendct -o dct32_gen.go
package main
