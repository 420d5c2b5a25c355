module github.com/herald-sms/herald

go 1.26
