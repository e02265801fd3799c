package bundle

// AES-256 encryption of ZIP entries, as WinZip defined it (AE-2) and as
// 7-Zip, WinZip, Keka, The Unarchiver and p7zip read it. No maintained Go
// module for it is served here, so it is written from the specification
// (https://www.winzip.com/en/support/aes-encryption/) on the standard
// library's AES, HMAC-SHA1 and PBKDF2, and tested against 7-Zip both ways.
//
// Each entry's data is: a random 16-byte salt, a 2-byte password check,
// the file encrypted with AES-256 in CTR mode (a little-endian counter
// from 1), and the first 10 bytes of HMAC-SHA1 over the ciphertext. The
// keys come from PBKDF2-HMAC-SHA1 over the password and salt, 1000
// rounds. The entry's method is 99, its extra field 0x9901 names the real
// method (stored), and its CRC is 0 (AE-2), so nothing of the plaintext
// shows.

import (
	"archive/zip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

const (
	aesMethod   = 99
	aesSaltLen  = 16
	aesKeyLen   = 32
	aesCheckLen = 2
	aesAuthLen  = 10
	aesRounds   = 1000
	// aesOverhead is what encryption adds to an entry.
	aesOverhead = aesSaltLen + aesCheckLen + aesAuthLen
)

// aesExtra is the 0x9901 extra field: AE-2, vendor "AE", AES-256, stored.
var aesExtra = []byte{0x01, 0x99, 7, 0, 2, 0, 'A', 'E', 3, 0, 0}

// ErrPassword: the password does not open an encrypted bundle.
var ErrPassword = errors.New("bundle: the password does not open this bundle")

func aesKeys(password string, salt []byte) (enc, mac, check []byte, err error) {
	dk, err := pbkdf2.Key(sha1.New, password, salt, aesRounds, 2*aesKeyLen+aesCheckLen)
	if err != nil {
		return nil, nil, nil, err
	}
	return dk[:aesKeyLen], dk[aesKeyLen : 2*aesKeyLen], dk[2*aesKeyLen:], nil
}

// ctr is AES in CTR mode with WinZip's little-endian counter, from 1.
// (The standard library's CTR counts big-endian, so it cannot be used.)
// It makes its key stream a batch of blocks at a time.
type ctr struct {
	block   cipher.Block
	counter [aes.BlockSize]byte
	stream  [64 * aes.BlockSize]byte
	used    int // bytes of stream used
}

func newCTR(key []byte) (*ctr, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	c := &ctr{block: b}
	c.used = len(c.stream)
	return c, nil
}

func (c *ctr) refill() {
	for i := 0; i < len(c.stream); i += aes.BlockSize {
		for j := range c.counter { // increment, little-endian
			c.counter[j]++
			if c.counter[j] != 0 {
				break
			}
		}
		c.block.Encrypt(c.stream[i:i+aes.BlockSize], c.counter[:])
	}
	c.used = 0
}

func (c *ctr) xor(dst, src []byte) {
	for len(src) > 0 {
		if c.used == len(c.stream) {
			c.refill()
		}
		n := subtle.XORBytes(dst, src, c.stream[c.used:])
		c.used += n
		dst, src = dst[n:], src[n:]
	}
}

// aesWriter encrypts one entry's data as it is written.
type aesWriter struct {
	w   io.Writer
	c   *ctr
	mac hash.Hash
	buf []byte
	n   int64
}

func newAESWriter(w io.Writer, password string) (*aesWriter, error) {
	salt := make([]byte, aesSaltLen)
	rand.Read(salt)
	enc, mk, check, err := aesKeys(password, salt)
	if err != nil {
		return nil, err
	}
	c, err := newCTR(enc)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(append(salt, check...)); err != nil {
		return nil, err
	}
	return &aesWriter{w: w, c: c, mac: hmac.New(sha1.New, mk)}, nil
}

func (a *aesWriter) Write(p []byte) (int, error) {
	if cap(a.buf) < len(p) {
		a.buf = make([]byte, len(p))
	}
	out := a.buf[:len(p)]
	a.c.xor(out, p)
	a.mac.Write(out)
	n, err := a.w.Write(out)
	a.n += int64(n)
	return n, err
}

// finish writes the authentication code.
func (a *aesWriter) finish() error {
	_, err := a.w.Write(a.mac.Sum(nil)[:aesAuthLen])
	return err
}

// dosTime is t as a ZIP header's MS-DOS date and time (local fields of t,
// to the even second).
func dosTime(t time.Time) (date, tm uint16) {
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tm
}

// createAES adds an encrypted entry of size bytes; write must write
// exactly that many.
func createAES(z *zip.Writer, name string, modified time.Time, size int64, password string, write func(io.Writer) error) error {
	fh := &zip.FileHeader{Name: name, Method: aesMethod, Flags: 0x1, CreatorVersion: 51, ReaderVersion: 51,
		UncompressedSize64: uint64(size), CompressedSize64: uint64(size + aesOverhead), Extra: aesExtra}
	//lint:ignore SA1019 CreateRaw writes the MS-DOS fields as given: it does not translate Modified as CreateHeader does
	fh.ModifiedDate, fh.ModifiedTime = dosTime(modified)
	zw, err := z.CreateRaw(fh)
	if err != nil {
		return err
	}
	aw, err := newAESWriter(zw, password)
	if err != nil {
		return err
	}
	if err := write(aw); err != nil {
		return err
	}
	if aw.n != size {
		return fmt.Errorf("wrote %d bytes of %d", aw.n, size)
	}
	return aw.finish()
}

// encrypted says whether an entry is AES-encrypted.
func encrypted(f *zip.File) bool { return f.Method == aesMethod && f.Flags&0x1 != 0 }

// aesInner checks an encrypted entry's 0x9901 field: AES-256, and the
// data stored inside (as Build writes it).
func aesInner(extra []byte) error {
	for len(extra) >= 4 {
		id, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		if len(extra) < 4+n {
			break
		}
		if id == 0x9901 && n == 7 {
			f := extra[4 : 4+n]
			if f[4] != 3 || binary.LittleEndian.Uint16(f[5:]) != 0 {
				return errors.New("not AES-256 over stored data")
			}
			return nil
		}
		extra = extra[4+n:]
	}
	return errors.New("no AES field")
}

// openAES opens an encrypted entry with the password, decrypting as it is
// read; at its end the reader checks the authentication code over what
// it read, and fails if it does not match (a changed byte). A wrong
// password is ErrPassword.
func openAES(f *zip.File, password string) (io.Reader, error) {
	if password == "" {
		return nil, errors.New("the bundle is encrypted: give its password")
	}
	if err := aesInner(f.Extra); err != nil {
		return nil, err
	}
	size := int64(f.CompressedSize64) - aesOverhead
	if size < 0 {
		return nil, fmt.Errorf("an encrypted entry of %d bytes", f.CompressedSize64)
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, err
	}
	head := make([]byte, aesSaltLen+aesCheckLen)
	if _, err := io.ReadFull(raw, head); err != nil {
		return nil, err
	}
	enc, mk, check, err := aesKeys(password, head[:aesSaltLen])
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(check, head[aesSaltLen:]) != 1 {
		return nil, ErrPassword
	}
	c, err := newCTR(enc)
	if err != nil {
		return nil, err
	}
	return &aesReader{raw: raw, left: size, c: c, mac: hmac.New(sha1.New, mk)}, nil
}

type aesReader struct {
	raw  io.Reader
	left int64
	c    *ctr
	mac  hash.Hash
}

func (a *aesReader) Read(p []byte) (int, error) {
	if a.left == 0 {
		auth := make([]byte, aesAuthLen)
		if _, err := io.ReadFull(a.raw, auth); err != nil {
			return 0, err
		}
		if !hmac.Equal(a.mac.Sum(nil)[:aesAuthLen], auth) {
			return 0, errors.New("its authentication code does not match: it was changed")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > a.left {
		p = p[:a.left]
	}
	n, err := a.raw.Read(p)
	a.mac.Write(p[:n])
	a.c.xor(p[:n], p[:n])
	a.left -= int64(n)
	if err == io.EOF && a.left > 0 {
		err = io.ErrUnexpectedEOF
	} else if err == io.EOF {
		err = nil
	}
	return n, err
}

// Encrypted says whether a bundle's entries are encrypted (it needs a
// password to verify).
func Encrypted(r io.ReaderAt, size int64) bool {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return false
	}
	for _, f := range z.File {
		if encrypted(f) {
			return true
		}
	}
	return false
}
