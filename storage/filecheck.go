package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
)

// The checker child reads the file with pread, one page at a time, instead
// of walking bbolt's mapping: mapped pages count in the process's RSS until
// they are released, and a release on a timer lost the race with the walk
// on a busy machine (a 230 MiB file took the child to 119 MiB and more).
// Read through the page cache, the file costs the child a few buffers.
// What it verifies is what bbolt's tx.Check verifies (bbolt 1.5's
// tx_check.go), over bbolt's on-disk format (internal/common): a valid meta
// page, every page of the tree reachable once, of the right type, below the
// high-water mark and not free; the keys of every page in order and inside
// the range of its parent's; no page freed twice; and, when the file holds a
// free-page list, every page either reachable or free.

// bbolt's on-disk format, in the byte order of the machines it runs on here
// (little-endian: x86, ARM).
const (
	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	elemSize       = 16 // a branch or leaf element
	bucketHdrSize  = 16 // root page u64, sequence u64
	metaChecksumAt = 56 // offset of the checksum in the meta, after the header
	branchPage     = 0x01
	leafPage       = 0x02
	metaPage       = 0x04
	freelistPage   = 0x10
	bucketLeaf     = 0x01
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	noFreelist     = ^uint64(0)
)

// boltMeta is the part of a meta page the check uses.
type boltMeta struct {
	pageSize            int
	root, freelist, hwm uint64
	txid                uint64
	raw                 []byte // the meta, from after the page header to the checksum's end
	err                 error  // why bbolt would not use it; nil when valid
}

func parseMeta(b []byte) boltMeta {
	if len(b) < pageHeaderSize+metaChecksumAt+8 {
		return boltMeta{err: errors.New("meta page cut short")}
	}
	m := b[pageHeaderSize : pageHeaderSize+metaChecksumAt+8]
	le := binary.LittleEndian
	bm := boltMeta{
		pageSize: int(le.Uint32(m[8:])),
		root:     le.Uint64(m[16:]),
		freelist: le.Uint64(m[32:]),
		hwm:      le.Uint64(m[40:]),
		txid:     le.Uint64(m[48:]),
		raw:      slices.Clone(m),
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumAt])
	switch {
	case le.Uint32(m) != boltMagic:
		bm.err = errors.New("invalid database (bad magic)")
	case le.Uint32(m[4:]) != boltVersion:
		bm.err = errors.New("version mismatch")
	case le.Uint64(m[metaChecksumAt:]) != h.Sum64():
		bm.err = errors.New("checksum error")
	}
	return bm
}

// bitset is a set of page ids below the high-water mark: 8 KiB for 256 MiB
// of 4 KiB pages.
type bitset []uint64

func (b bitset) has(i uint64) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i uint64)      { b[i/64] |= 1 << (i % 64) }

// fileCheck is one check of one file.
type fileCheck struct {
	f        *os.File
	meta     boltMeta
	pageSize int
	reached  bitset
	freed    bitset
	// bufs holds one read buffer per level of the walk, so that the keys of
	// the pages above stay valid while a child page is read.
	bufs [][]byte
}

// checkFile checks the bbolt file open as f, whose lock the caller holds.
// It returns the meta the check used and the free pages it found, sorted:
// the freelist bbolt would rebuild. An error means the file is damaged.
func checkFile(f *os.File) (boltMeta, []uint64, error) {
	fi, err := f.Stat()
	if err != nil {
		return boltMeta{}, nil, err
	}
	c := &fileCheck{f: f}
	if c.meta, err = c.readMetas(fi.Size()); err != nil {
		return c.meta, nil, err
	}
	m := c.meta
	if m.hwm < 2 || m.root < 2 || m.root >= m.hwm || (m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.hwm)) {
		return m, nil, fmt.Errorf("meta: root page %d, freelist page %d, high-water mark %d", m.root, m.freelist, m.hwm)
	}
	if size := int64(m.hwm) * int64(c.pageSize); fi.Size() < size {
		return m, nil, fmt.Errorf("truncated: %d bytes, meta says %d", fi.Size(), size)
	}
	words := (m.hwm + 63) / 64
	c.reached, c.freed = make(bitset, words), make(bitset, words)
	c.reached.set(0)
	c.reached.set(1)
	synced := m.freelist != noFreelist
	if synced {
		if err := c.readFreelist(); err != nil {
			return m, nil, err
		}
	}
	if _, err := c.tree(m.root, nil, nil, 0); err != nil {
		return m, nil, err
	}
	var free []uint64
	for id := uint64(2); id < m.hwm; id++ {
		switch {
		case c.reached.has(id):
		case synced && !c.freed.has(id):
			return m, nil, fmt.Errorf("page %d: unreachable unfreed", id)
		default:
			free = append(free, id)
		}
	}
	return m, free, nil
}

// readMetas finds the page size and the meta bbolt would use: the valid one
// of the higher transaction id.
func (c *fileCheck) readMetas(size int64) (boltMeta, error) {
	first := make([]byte, 4096)
	if n, _ := c.f.ReadAt(first, 0); n < pageHeaderSize+metaChecksumAt+8 {
		return boltMeta{}, fmt.Errorf("file size too small (%d bytes)", size)
	}
	m0 := parseMeta(first)
	c.pageSize = m0.pageSize
	if m0.err != nil || c.pageSize < 1024 || c.pageSize > 1<<24 {
		c.pageSize = os.Getpagesize()
	}
	if size < 2*int64(c.pageSize) {
		return boltMeta{}, fmt.Errorf("file size too small (%d bytes)", size)
	}
	buf := make([]byte, pageHeaderSize+metaChecksumAt+8)
	if _, err := c.f.ReadAt(buf, int64(c.pageSize)); err != nil {
		return boltMeta{}, fmt.Errorf("read meta 1: %w", err)
	}
	m1 := parseMeta(buf)
	// tx.Check reads both meta pages through bbolt's page check, whatever
	// their checksums: the header must name the page and one page type.
	for i, p := range [][]byte{first, buf} {
		id, flags := binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint16(p[8:])
		if id != uint64(i) || !slices.Contains([]uint16{branchPage, leafPage, metaPage, freelistPage}, flags) {
			return boltMeta{}, fmt.Errorf("meta page %d: header names page %d, flags %#x", i, id, flags)
		}
	}
	if m0.err == nil && m0.pageSize != c.pageSize || m1.err == nil && m1.pageSize != c.pageSize {
		return boltMeta{}, fmt.Errorf("meta pages disagree on the page size (%d, %d)", m0.pageSize, m1.pageSize)
	}
	a, b := m0, m1
	if b.txid > a.txid {
		a, b = b, a
	}
	switch {
	case a.err == nil:
		return a, nil
	case b.err == nil:
		return b, nil
	}
	return boltMeta{}, fmt.Errorf("meta pages: %w", m0.err)
}

// read returns page id and its overflow pages, read into the buffer of
// level depth, after checking its header.
func (c *fileCheck) read(id uint64, depth int) ([]byte, error) {
	for len(c.bufs) <= depth {
		c.bufs = append(c.bufs, make([]byte, c.pageSize))
	}
	p := c.bufs[depth][:c.pageSize]
	if _, err := c.f.ReadAt(p, int64(id)*int64(c.pageSize)); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	if got := binary.LittleEndian.Uint64(p); got != id {
		return nil, fmt.Errorf("page %d: header names page %d", id, got)
	}
	if over := uint64(binary.LittleEndian.Uint32(p[12:])); over > 0 {
		if id+over >= c.meta.hwm {
			return nil, fmt.Errorf("page %d: %d overflow pages run past the high-water mark %d", id, over, c.meta.hwm)
		}
		n := int(over+1) * c.pageSize
		if cap(c.bufs[depth]) < n {
			// The page's first page is in the old buffer.
			grown := make([]byte, n)
			copy(grown, p)
			c.bufs[depth] = grown
		}
		p = c.bufs[depth][:n]
		if _, err := c.f.ReadAt(p[c.pageSize:], int64(id+1)*int64(c.pageSize)); err != nil {
			return nil, fmt.Errorf("page %d: overflow: %w", id, err)
		}
	}
	return p, nil
}

func (c *fileCheck) readFreelist() error {
	id := c.meta.freelist
	p, err := c.read(id, 0)
	if err != nil {
		return err
	}
	if flags := binary.LittleEndian.Uint16(p[8:]); flags != freelistPage {
		return fmt.Errorf("page %d: freelist page has flags %#x", id, flags)
	}
	for i := range uint64(len(p) / c.pageSize) {
		c.reached.set(id + i)
	}
	n, ids := int(binary.LittleEndian.Uint16(p[10:])), p[pageHeaderSize:]
	if n == 0xFFFF {
		n, ids = int(binary.LittleEndian.Uint64(ids)), ids[8:]
	}
	if n < 0 || n > len(ids)/8 {
		return fmt.Errorf("page %d: freelist of %d ids does not fit its pages", id, n)
	}
	for i := range n {
		free := binary.LittleEndian.Uint64(ids[8*i:])
		switch {
		case free < 2 || free >= c.meta.hwm:
			return fmt.Errorf("page %d: freelist names page %d, outside 2…%d", id, free, c.meta.hwm-1)
		case c.freed.has(free):
			return fmt.Errorf("page %d: already freed", free)
		}
		c.freed.set(free)
	}
	return nil
}

// tree checks the page tree rooted at id, whose keys must lie in
// [lo, hi) (nil: unbounded), and the trees of the buckets in it. It returns
// the tree's last key, which stays valid until the next read at this depth.
func (c *fileCheck) tree(id uint64, lo, hi []byte, depth int) ([]byte, error) {
	if depth > 64 {
		return nil, fmt.Errorf("page %d: tree deeper than 64 levels", id)
	}
	if id < 2 || id >= c.meta.hwm {
		return nil, fmt.Errorf("page %d: out of bounds: %d", id, c.meta.hwm)
	}
	p, err := c.read(id, depth)
	if err != nil {
		return nil, err
	}
	for i := range uint64(len(p) / c.pageSize) {
		switch {
		case c.reached.has(id + i):
			return nil, fmt.Errorf("page %d: multiple references", id+i)
		case c.freed.has(id + i):
			return nil, fmt.Errorf("page %d: reachable freed", id+i)
		}
		c.reached.set(id + i)
	}
	flags, count := binary.LittleEndian.Uint16(p[8:]), int(binary.LittleEndian.Uint16(p[10:]))
	if pageHeaderSize+count*elemSize > len(p) {
		return nil, fmt.Errorf("page %d: %d elements do not fit the page", id, count)
	}
	// field returns n bytes at off bytes past element i.
	field := func(i int, off, n uint32) ([]byte, error) {
		at := uint64(pageHeaderSize+i*elemSize) + uint64(off)
		if at+uint64(n) > uint64(len(p)) {
			return nil, fmt.Errorf("page %d: element %d runs past the page", id, i)
		}
		return p[at : at+uint64(n)], nil
	}
	le := binary.LittleEndian
	prev := lo
	switch flags {
	case branchPage:
		for i := range count {
			e := p[pageHeaderSize+i*elemSize:]
			key, err := field(i, le.Uint32(e), le.Uint32(e[4:]))
			if err != nil {
				return nil, err
			}
			if err := keyInOrder(id, i, key, prev, hi); err != nil {
				return nil, err
			}
			next := hi
			if i+1 < count {
				ne := p[pageHeaderSize+(i+1)*elemSize:]
				if next, err = field(i+1, le.Uint32(ne), le.Uint32(ne[4:])); err != nil {
					return nil, err
				}
			}
			last, err := c.tree(le.Uint64(e[8:]), key, next, depth+1)
			if err != nil {
				return nil, err
			}
			// last is in the child's buffer, which the next child reuses.
			prev = bytes.Clone(last)
		}
		return prev, nil
	case leafPage:
		for i := range count {
			e := p[pageHeaderSize+i*elemSize:]
			pos, ksize, vsize := le.Uint32(e[4:]), le.Uint32(e[8:]), le.Uint32(e[12:])
			kv, err := field(i, pos, ksize+vsize)
			if err != nil {
				return nil, err
			}
			key := kv[:ksize]
			if err := keyInOrder(id, i, key, prev, hi); err != nil {
				return nil, err
			}
			prev = key
			if le.Uint32(e)&bucketLeaf == 0 {
				continue
			}
			v := kv[ksize:]
			if len(v) < bucketHdrSize {
				return nil, fmt.Errorf("page %d: bucket %x: value of %d bytes", id, key, len(v))
			}
			// An inline bucket (root 0) lives in the value, its page
			// right after the header (bbolt's openBucket indexes it);
			// tx.Check does not look into those pages either.
			root := le.Uint64(v)
			if root == 0 && len(v) <= bucketHdrSize {
				return nil, fmt.Errorf("page %d: inline bucket %x: value of %d bytes", id, key, len(v))
			}
			if root != 0 {
				if _, err := c.tree(root, nil, nil, depth+1); err != nil {
					return nil, err
				}
			}
		}
		return prev, nil
	default:
		return nil, fmt.Errorf("page %d: invalid type (flags %#x)", id, flags)
	}
}

// keyInOrder is tx.Check's key-order rule: each key of a page above the one
// before it (the first one not below the parent's), and below the parent's
// next key.
func keyInOrder(id uint64, i int, key, prev, hi []byte) error {
	switch c := bytes.Compare(prev, key); {
	case prev != nil && i == 0 && c > 0:
		return fmt.Errorf("page %d: first key %x below the key %x in the parent page", id, key, prev)
	case i > 0 && c >= 0:
		return fmt.Errorf("page %d: key %d %x not above the key before it %x", id, i, key, prev)
	}
	if hi != nil && bytes.Compare(key, hi) >= 0 {
		return fmt.Errorf("page %d: key %d %x not below the parent's next key %x", id, i, key, hi)
	}
	return nil
}

// writeFreelistPage writes free as the file's free-page list, the way a
// bbolt commit does: the list on new pages at the high-water mark, synced,
// then the meta of the next transaction id into the other meta page, synced.
// A cut between the two leaves the old meta in force. The caller holds the
// file's exclusive lock and has checked it with m.
func writeFreelistPage(f *os.File, m boltMeta, free []uint64) error {
	le, pageSize := binary.LittleEndian, m.pageSize
	n := len(free)
	body := 8 * n
	if n >= 0xFFFF {
		body += 8 // the count goes into the first id
	}
	pages := (pageHeaderSize + body + pageSize - 1) / pageSize
	buf := make([]byte, pages*pageSize)
	le.PutUint64(buf, m.hwm)
	le.PutUint16(buf[8:], freelistPage)
	le.PutUint32(buf[12:], uint32(pages-1))
	ids := buf[pageHeaderSize:]
	if n >= 0xFFFF {
		le.PutUint16(buf[10:], 0xFFFF)
		le.PutUint64(ids, uint64(n))
		ids = ids[8:]
	} else {
		le.PutUint16(buf[10:], uint16(n))
	}
	for i, id := range free {
		le.PutUint64(ids[8*i:], id)
	}
	if _, err := f.WriteAt(buf, int64(m.hwm)*int64(pageSize)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	meta := slices.Clone(m.raw)
	le.PutUint64(meta[32:], m.hwm)               // freelist
	le.PutUint64(meta[40:], m.hwm+uint64(pages)) // high-water mark
	le.PutUint64(meta[48:], m.txid+1)            // transaction id
	h := fnv.New64a()
	h.Write(meta[:metaChecksumAt])
	le.PutUint64(meta[metaChecksumAt:], h.Sum64())
	page := make([]byte, pageSize)
	le.PutUint64(page, (m.txid+1)%2)
	le.PutUint16(page[8:], metaPage)
	copy(page[pageHeaderSize:], meta)
	if _, err := f.WriteAt(page, int64((m.txid+1)%2)*int64(pageSize)); err != nil {
		return err
	}
	return f.Sync()
}
