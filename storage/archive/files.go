package archive

import (
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// Files the archive writes outside the vault (kek.id, index.key, exports)
// are made as renameio's pending files: a temporary file made afresh
// beside the target (never in /tmp, which renameio would otherwise probe
// for on every call) (O_EXCL, a random name, so nothing planted in the
// directory is written through), mode 0600 whatever was there, synced,
// then put in place.

func pendingFile(path string) (*renameio.PendingFile, error) {
	return renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)), renameio.WithStaticPermissions(0o600))
}

// place puts a written pending file at path: renamed over whatever is
// there (a link is replaced, not followed) when replace is set, or else
// linked, which fails with fs.ErrExist if anything is there. The caller's
// deferred Cleanup removes the temporary name.
func place(f *renameio.PendingFile, path string, replace bool) error {
	if replace {
		return f.CloseAtomicallyReplace()
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return os.Link(f.Name(), path)
}

// writeFile replaces path with b (see place).
func writeFile(path string, b []byte) error {
	f, err := pendingFile(path)
	if err != nil {
		return err
	}
	defer f.Cleanup()
	if _, err := f.Write(b); err != nil {
		return err
	}
	return place(f, path, true)
}
