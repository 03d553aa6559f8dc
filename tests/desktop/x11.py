#!/usr/bin/env python3
"""What a user does to the app's windows, on an Xvfb display without a window manager.
Used by smoke.mjs and bench/launch.sh; plain libX11 and libXtst through ctypes.

    x11.py list PID               the names of PID's top-level windows, one a line
    x11.py close PID [NAME]       ask PID's windows (named NAME) to close, as a window
                                  manager's close button does: WM_DELETE_WINDOW (ICCCM 4.2.8.1)
    x11.py key PID NAME KEYSYM    focus PID's window NAME and press a key (XTest), e.g. Return

Exit status 0 when at least one window matched.
"""
import ctypes
import ctypes.util
import sys

x = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
Window = ctypes.c_ulong
Atom = ctypes.c_ulong


class ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", Window),
        ("message_type", Atom),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class XEvent(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]


x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XDefaultRootWindow.restype = Window
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XInternAtom.restype = Atom
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XQueryTree.argtypes = [ctypes.c_void_p, Window, ctypes.POINTER(Window), ctypes.POINTER(Window),
                         ctypes.POINTER(ctypes.POINTER(Window)), ctypes.POINTER(ctypes.c_uint)]
x.XGetWindowProperty.argtypes = [ctypes.c_void_p, Window, Atom, ctypes.c_long, ctypes.c_long, ctypes.c_int,
                                 Atom, ctypes.POINTER(Atom), ctypes.POINTER(ctypes.c_int),
                                 ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong),
                                 ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]
x.XSendEvent.argtypes = [ctypes.c_void_p, Window, ctypes.c_int, ctypes.c_long, ctypes.POINTER(XEvent)]
x.XFree.argtypes = [ctypes.c_void_p]
x.XFlush.argtypes = [ctypes.c_void_p]
x.XCloseDisplay.argtypes = [ctypes.c_void_p]


def pid_of(dpy, win, net_wm_pid):
    actual, fmt = Atom(), ctypes.c_int()
    n, after = ctypes.c_ulong(), ctypes.c_ulong()
    data = ctypes.POINTER(ctypes.c_ubyte)()
    if x.XGetWindowProperty(dpy, win, net_wm_pid, 0, 1, 0, 6, ctypes.byref(actual), ctypes.byref(fmt),
                            ctypes.byref(n), ctypes.byref(after), ctypes.byref(data)) != 0 or not data:
        return None
    pid = ctypes.cast(data, ctypes.POINTER(ctypes.c_ulong))[0] if n.value else None
    x.XFree(data)
    return pid


def children(dpy, win):
    root, parent = Window(), Window()
    kids = ctypes.POINTER(Window)()
    count = ctypes.c_uint()
    if not x.XQueryTree(dpy, win, ctypes.byref(root), ctypes.byref(parent), ctypes.byref(kids), ctypes.byref(count)):
        return []
    out = [kids[i] for i in range(count.value)]
    if kids:
        x.XFree(kids)
    return out


x.XFetchName.argtypes = [ctypes.c_void_p, Window, ctypes.POINTER(ctypes.c_char_p)]
x.XSetInputFocus.argtypes = [ctypes.c_void_p, Window, ctypes.c_int, ctypes.c_ulong]
x.XRaiseWindow.argtypes = [ctypes.c_void_p, Window]
x.XStringToKeysym.restype = ctypes.c_ulong
x.XStringToKeysym.argtypes = [ctypes.c_char_p]
x.XKeysymToKeycode.restype = ctypes.c_ubyte
x.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]


def name_of(dpy, win):
    name = ctypes.c_char_p()
    if not x.XFetchName(dpy, win, ctypes.byref(name)) or not name.value:
        return ""
    value = name.value.decode("utf-8", "replace")
    x.XFree(name)
    return value


def windows_of(dpy, pid, name=None):
    net_wm_pid = x.XInternAtom(dpy, b"_NET_WM_PID", 0)
    found = []
    for win in children(dpy, x.XDefaultRootWindow(dpy)):
        if pid_of(dpy, win, net_wm_pid) != pid:
            continue
        if name is not None and name_of(dpy, win) != name:
            continue
        found.append(win)
    return found


def close(dpy, wins):
    protocols = x.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
    delete = x.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
    for win in wins:
        ev = XEvent()
        ev.xclient.type = 33  # ClientMessage
        ev.xclient.window = win
        ev.xclient.message_type = protocols
        ev.xclient.format = 32
        ev.xclient.data[0] = delete
        ev.xclient.data[1] = 0  # CurrentTime
        x.XSendEvent(dpy, win, 0, 0, ctypes.byref(ev))


def key(dpy, wins, keysym):
    xtst = ctypes.cdll.LoadLibrary(ctypes.util.find_library("Xtst") or "libXtst.so.6")
    xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
    code = x.XKeysymToKeycode(dpy, x.XStringToKeysym(keysym.encode()))
    for win in wins:
        x.XRaiseWindow(dpy, win)
        x.XSetInputFocus(dpy, win, 2, 0)  # RevertToParent, CurrentTime
        x.XSync(dpy, 0)
        xtst.XTestFakeKeyEvent(dpy, code, 1, 0)
        xtst.XTestFakeKeyEvent(dpy, code, 0, 0)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, pid = sys.argv[1], int(sys.argv[2])
    dpy = x.XOpenDisplay(None)
    if not dpy:
        sys.exit("x11: cannot open the display")
    if cmd == "list":
        wins = windows_of(dpy, pid)
        for win in wins:
            print(name_of(dpy, win))
    elif cmd == "close":
        wins = windows_of(dpy, pid, sys.argv[3] if len(sys.argv) > 3 else None)
        close(dpy, wins)
    elif cmd == "key":
        wins = windows_of(dpy, pid, sys.argv[3])
        key(dpy, wins, sys.argv[4])
    else:
        sys.exit(__doc__)
    x.XSync(dpy, 0)
    x.XCloseDisplay(dpy)
    sys.exit(0 if wins else 1)


main()
