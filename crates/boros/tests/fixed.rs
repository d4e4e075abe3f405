//! Registered buffers and direct descriptors against the running kernel: no mocks.

mod common;

use boros::io_uring::squeue;
use boros::{op, Completion, Driver};
use std::ffi::CString;
use std::time::Duration;

fn temp_file(tag: &str, data: &[u8]) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("boros-fixed-{}-{tag}", std::process::id()));
    std::fs::write(&p, data).unwrap();
    p
}

/// [`common::collect`], in token order.
fn collect(driver: &mut Driver, n: usize) -> Vec<Completion> {
    let mut out = common::collect(driver, n, Duration::from_secs(5));
    out.sort_by_key(|c| c.token);
    out
}

#[test]
fn read_fixed_and_write_fixed_use_registered_buffers() {
    let data: Vec<u8> = (0..8192u32).map(|i| (i * 7) as u8).collect();
    let path = temp_file("rw", &data);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let mut driver = Driver::new().unwrap();
    // Two 4 KiB buffers, registered in the sparse table.
    let mut mem: Vec<Box<[u8]>> = (0..2).map(|_| vec![0u8; 4096].into_boxed_slice()).collect();
    let iovecs: Vec<libc::iovec> = mem
        .iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect();
    // SAFETY: `mem` outlives every op below and is unregistered before it is dropped.
    let first = unsafe { driver.register_buffers(&iovecs) }.unwrap();
    let b0 = std::mem::take(&mut mem[0]);
    let b1 = std::mem::take(&mut mem[1]);
    driver
        .push(Box::new(op::Read::new(fd, b0, 0).fixed(first)), 1)
        .unwrap();
    driver
        .push(Box::new(op::Read::new(fd, b1, 4096).fixed(first + 1)), 2)
        .unwrap();
    let mut done = collect(&mut driver, 2);
    assert_eq!(done[0].result, 4096);
    assert_eq!(done[1].result, 4096);
    let b0 = done[0]
        .take_op::<op::Read<Box<[u8]>>>()
        .unwrap()
        .into_buf(4096);
    let b1 = done[1]
        .take_op::<op::Read<Box<[u8]>>>()
        .unwrap()
        .into_buf(4096);
    assert_eq!(&b0[..], &data[..4096]);
    assert_eq!(&b1[..], &data[4096..]);
    // A buffer outside the registered range is refused by the kernel (EFAULT), not written.
    let stray = vec![0u8; 4096].into_boxed_slice();
    driver
        .push(Box::new(op::Read::new(fd, stray, 0).fixed(first)), 3)
        .unwrap();
    assert_eq!(collect(&mut driver, 1)[0].result, -libc::EFAULT);
    // Write from the registered buffer 1 over the first block.
    driver
        .push(Box::new(op::Write::new(fd, b1, 0).fixed(first + 1)), 4)
        .unwrap();
    let mut done = collect(&mut driver, 1);
    assert_eq!(done[0].result, 4096);
    let b1 = done[0]
        .take_op::<op::Write<Box<[u8]>>>()
        .unwrap()
        .into_buf();
    driver.unregister_buffers(first, 2);
    assert_eq!(&std::fs::read(&path).unwrap()[..4096], &data[4096..]);
    drop((b0, b1));
    // The slots can be taken again.
    let mut again = [vec![0u8; 4096].into_boxed_slice()];
    let iov = [libc::iovec {
        iov_base: again[0].as_mut_ptr().cast(),
        iov_len: 4096,
    }];
    // SAFETY: as above.
    assert_eq!(unsafe { driver.register_buffers(&iov) }.unwrap(), first);
    driver.unregister_buffers(first, 1);
    let _ = std::fs::remove_file(path);
}

fn linked_read_file(driver: &mut Driver, path: &CString, slot: u32, token: u64) {
    let open = op::OpenAt::new(path.clone(), libc::O_RDONLY, 0).direct(slot);
    let read = op::Read::new(op::Target::Fixed(slot), Vec::with_capacity(65536), 0);
    let close = op::Close::new(op::Target::Fixed(slot));
    driver
        .push_linked(vec![
            (Box::new(open), token, squeue::Flags::IO_LINK),
            (Box::new(read), token + 1, squeue::Flags::IO_HARDLINK),
            (Box::new(close), token + 2, squeue::Flags::empty()),
        ])
        .unwrap();
}

#[test]
fn open_read_close_linked_on_a_direct_descriptor() {
    let path = temp_file("chain", b"hello, direct descriptors");
    let cpath = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let mut driver = Driver::new().unwrap();
    let slot = driver.alloc_file_slot().expect("sparse file table");
    let (size, all_free) = driver.file_table().unwrap();
    assert_eq!(all_free, size - 1);
    linked_read_file(&mut driver, &cpath, slot, 10);
    let stats = driver.stats();
    let mut done = collect(&mut driver, 3);
    assert_eq!(
        driver.stats().batches - stats.batches,
        1,
        "one submit for the chain"
    );
    assert_eq!(done[0].result, 0, "a direct open completes with 0");
    assert_eq!(done[1].result, 25);
    assert_eq!(done[2].result, 0);
    let buf = done[1].take_op::<op::Read<Vec<u8>>>().unwrap().into_buf(25);
    assert_eq!(&buf[..], b"hello, direct descriptors");
    // The close that emptied the slot freed it: nobody frees slots by hand.
    assert_eq!(driver.file_table(), Some((size, size)));

    // ENOENT: the read and the close are cancelled, the slot stays empty and reusable.
    let missing = CString::new("/nonexistent/boros").unwrap();
    let slot = driver.alloc_file_slot().unwrap();
    linked_read_file(&mut driver, &missing, slot, 20);
    let done = collect(&mut driver, 3);
    assert_eq!(done[0].result, -libc::ENOENT);
    assert_eq!(done[1].result, -libc::ECANCELED);
    assert_eq!(done[2].result, -libc::ECANCELED);
    // The open that failed to fill the slot freed it (the cancelled close did not, again).
    assert_eq!(driver.file_table(), Some((size, size)));

    // EISDIR on the read: the hard link still closes the direct descriptor.
    let dir = CString::new(std::env::temp_dir().as_os_str().as_encoded_bytes()).unwrap();
    let slot = driver.alloc_file_slot().unwrap();
    linked_read_file(&mut driver, &dir, slot, 30);
    let done = collect(&mut driver, 3);
    assert_eq!(done[0].result, 0);
    assert_eq!(done[1].result, -libc::EISDIR);
    assert_eq!(done[2].result, 0, "the close ran after the failed read");
    assert_eq!(driver.file_table(), Some((size, size)));
    let _ = std::fs::remove_file(path);
}

#[test]
fn file_table_slots_run_out_and_come_back() {
    let mut driver = Driver::new().unwrap();
    let mut slots = Vec::new();
    while let Some(s) = driver.alloc_file_slot() {
        slots.push(s);
    }
    let (size, free) = driver.file_table().unwrap();
    assert_eq!((slots.len(), free), (size, 0));
    driver.free_file_slot(slots[3]);
    assert_eq!(driver.alloc_file_slot(), Some(slots[3]));
}

#[test]
fn an_installed_descriptor_is_named_by_its_slot_until_removed() {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut driver = Driver::new().unwrap();
    let slot = driver.install_file(a.as_raw_fd()).expect("a free slot");
    // The table holds its own reference: the socket outlives our descriptor.
    drop(a);
    driver
        .push(
            Box::new(op::Send::new(op::Target::Fixed(slot), b"by slot".to_vec())),
            1,
        )
        .unwrap();
    let done = collect(&mut driver, 1);
    assert_eq!(done[0].result().unwrap(), 7);
    let mut got = [0u8; 7];
    b.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"by slot");
    driver.remove_file(slot);
    // The slot is empty: the socket is closed (the peer reads end of stream), and an op
    // naming the slot fails.
    let mut rest = Vec::new();
    b.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    driver
        .push(
            Box::new(op::Send::new(op::Target::Fixed(slot), b"x".to_vec())),
            2,
        )
        .unwrap();
    let done = collect(&mut driver, 1);
    assert_eq!(done[0].result, -libc::EBADF);
}
