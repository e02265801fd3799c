package optout_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"callrec/firmware/optout"
	"callrec/storage/index"
)

func TestDoNotRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	ix, err := index.Open(path, index.Options{Key: bytes.Repeat([]byte{5}, index.KeySize), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	d, err := optout.LoadDoNotRecord(ix)
	if err != nil || d.Listed([]string{"+441632960001"}) {
		t.Fatalf("a new list: %v, lists a number", err)
	}
	if err := d.Add("boss", "01632960001", "x"); err == nil {
		t.Error("a number not in E.164 was accepted")
	}
	if err := d.Add("boss", "+441632960001", ""); err == nil {
		t.Error("an entry without a reason was accepted")
	}
	if err := d.Add("boss", "+441632960001", "the patient's wish, letter of 2 Dec"); err != nil {
		t.Fatal(err)
	}
	if !d.Listed([]string{"+441632960009", "+441632960001"}) || d.Listed([]string{"+441632960009"}) {
		t.Error("Listed is wrong")
	}
	again, err := optout.LoadDoNotRecord(ix)
	if err != nil || !again.Listed([]string{"+441632960001"}) || len(again.List()) != 1 {
		t.Errorf("the list did not persist: %v %v", again.List(), err)
	}
	if err := d.Remove("boss", "+449999", "x"); !errors.Is(err, optout.ErrNotListed) {
		t.Errorf("Remove(unlisted) = %v", err)
	}
	if err := d.Remove("boss", "+441632960001", "withdrawn"); err != nil || d.Listed([]string{"+441632960001"}) {
		t.Errorf("Remove = %v", err)
	}
	log, _ := ix.AuditLog()
	if len(log) != 2 || log[0].Action != "dnr-add" || log[1].Action != "dnr-remove" {
		t.Errorf("audit: %+v", log)
	}
	// A list that does not read lists every call (fail closed).
	ix.Close()
	wrong, err := index.Open(path, index.Options{Key: bytes.Repeat([]byte{5}, index.KeySize), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	wrong.PutSetting("do_not_record", "not a list")
	broken, err := optout.LoadDoNotRecord(wrong)
	if err == nil || !broken.Listed([]string{"+441632960002"}) {
		t.Errorf("a list that does not read: %v, listed %v", err, broken.Listed([]string{"+441632960002"}))
	}
}
