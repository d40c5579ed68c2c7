//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/shmring/shmring/internal/codec"
)

// A frame, as it lies in its record (little-endian):
//
//	[0:24)  the internal/codec header: frame number (seq), producer 0,
//	        CRC-32C, the producer's timestamp (Unix ns, taken once the
//	        pixels are written, just before the checksum and Commit)
//	[24:28) width in pixels
//	[28:32) height in pixels
//	[32:)   width × height BGRA pixels, 4 bytes each, row after row
//
// The CRC-32C covers every byte of the frame but its own four (codec.Seal,
// codec.Check): the header and all the pixels, so a reader that checks a
// frame in place reads all of it, as an encoder would.
const (
	widthOffset   = codec.HeaderSize
	heightOffset  = widthOffset + 4
	pixelsOffset  = heightOffset + 4
	bytesPerPixel = 4 // B, G, R, A
	patternPeriod = 256
)

// A resolution is a frame's size in pixels.
type resolution struct{ W, H int }

// parseResolution reads "1080p", "4k" or "WxH".
func parseResolution(s string) (resolution, error) {
	switch strings.ToLower(s) {
	case "720p":
		return resolution{1280, 720}, nil
	case "1080p":
		return resolution{1920, 1080}, nil
	case "4k", "2160p":
		return resolution{3840, 2160}, nil
	}
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, werr := strconv.Atoi(ws)
	h, herr := strconv.Atoi(hs)
	if !ok || werr != nil || herr != nil || w < 1 || h < 1 || w > 8192 || h > 8192 {
		return resolution{}, fmt.Errorf("resolution %q: want 720p, 1080p, 4k or WxH (1 to 8192 each)", s)
	}
	return resolution{w, h}, nil
}

func (r resolution) String() string { return fmt.Sprintf("%dx%d", r.W, r.H) }

// frameSize is the bytes of one frame of r, header included.
func (r resolution) frameSize() int { return pixelsOffset + r.W*r.H*bytesPerPixel }

// A painter draws the synthetic picture: diagonal colour bands that move
// one pixel a frame. Each row is a copy from a precomputed strip, so
// painting costs one memcpy of the frame.
type painter struct {
	res   resolution
	strip []byte // (W + patternPeriod) pixels
}

func newPainter(res resolution) *painter {
	p := &painter{res: res, strip: make([]byte, (res.W+patternPeriod)*bytesPerPixel)}
	for i := range res.W + patternPeriod {
		v := byte(i % patternPeriod)
		copy(p.strip[i*bytesPerPixel:], []byte{v, v * 2, 255 - v, 255})
	}
	return p
}

// paint writes frame n into b (res.frameSize() bytes) and seals it with
// the timestamp now().
func (p *painter) paint(b []byte, n uint64, now func() int64) {
	row := p.res.W * bytesPerPixel
	px := b[pixelsOffset:]
	for y := range p.res.H {
		off := int((uint64(y)+n)%patternPeriod) * bytesPerPixel
		copy(px[y*row:(y+1)*row], p.strip[off:off+row])
	}
	binary.LittleEndian.PutUint32(b[widthOffset:], uint32(p.res.W))
	binary.LittleEndian.PutUint32(b[heightOffset:], uint32(p.res.H))
	codec.PutHeader(b, codec.Header{Seq: n, SentNs: now()})
	codec.Seal(b)
}

// check verifies a frame in place: its length, checksum and size fields;
// it returns its header.
func check(b []byte, res resolution) (codec.Header, error) {
	if len(b) != res.frameSize() {
		return codec.Header{}, fmt.Errorf("%w: a %d-byte frame, want %d (%v BGRA)", codec.ErrIntegrity, len(b), res.frameSize(), res)
	}
	h, err := codec.Check(b)
	if err != nil {
		return h, err
	}
	if w, ht := binary.LittleEndian.Uint32(b[widthOffset:]), binary.LittleEndian.Uint32(b[heightOffset:]); int(w) != res.W || int(ht) != res.H {
		return h, fmt.Errorf("%w: frame %d says %dx%d, want %v", codec.ErrIntegrity, h.Seq, w, ht, res)
	}
	return h, nil
}
