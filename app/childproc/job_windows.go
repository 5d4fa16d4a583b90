package childproc

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// winJobs is the Job Object API of Windows.
type winJobs struct{}

var _ jobs = winJobs{}

func (winJobs) newKillOnClose(inheritable bool) (uintptr, error) {
	var sa *windows.SecurityAttributes
	if inheritable {
		sa = &windows.SecurityAttributes{InheritHandle: 1}
		sa.Length = uint32(unsafe.Sizeof(*sa))
	}
	h, err := windows.CreateJobObject(sa, nil)
	if err != nil {
		return 0, err
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(h, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(h)
		return 0, err
	}
	return uintptr(h), nil
}

func (winJobs) assignSelf(job uintptr) error {
	return windows.AssignProcessToJobObject(windows.Handle(job), windows.CurrentProcess())
}

func (winJobs) closeHandle(h uintptr) error { return windows.CloseHandle(windows.Handle(h)) }
