package childproc

// The app links Fyne, whose lang package logs "Error parsing user locale" from its init, before
// main, when LANG is C.UTF-8. Linked into this test binary too, it makes the tests see what a
// supervisor of the real app would print into a server's log.
import _ "fyne.io/fyne/v2/lang"
